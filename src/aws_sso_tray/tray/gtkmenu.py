"""The gtk backend's menu: a submenu's widgets are made when it is first opened.

pystray's gtk backend turns the whole menu into GTK widgets each time the menu changes, every
submenu included. Our menu has a submenu per logged-in profile (and, with many profiles, per
account), each with about eight entries, and a kept-fresh profile appears twice (in "Kept fresh
and failing" and under its account): widgets the user mostly never opens, 3 MB of the tray's
memory with 20 kept-fresh profiles and 17 MB with 100 (benchmarks/traymem.py --profiles N,
before and after). `build_submenus_when_opened`
makes each submenu an empty GTK menu that is filled, by pystray's own item code, when its entry
is highlighted (GTK's "select": hover or keyboard, always before the submenu pops up). Filled
submenus go with the rest at the next rebuild.

Only the gtk (XEmbed) backend: AppIndicator hands GTK's menu to the panel over D-Bus
(dbusmenu), which reads the whole tree up front, so there the menu stays as pystray builds it.
It uses pystray 0.19's `_create_menu_item` (checked first: a pystray without it keeps its own
menus, and the log says so).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def build_submenus_when_opened(icon: Any, backend: str) -> bool:
    """Make `icon`'s submenus fill when first opened; False (menus as pystray makes them) if
    the backend is not gtk or this pystray lacks what it needs. Call it before `icon.run()`."""
    if backend != "gtk":
        return False
    make_item: Callable[[Any], Any] | None = getattr(icon, "_create_menu_item", None)
    if not callable(make_item):
        log.warning("tray: this pystray's gtk icon has no _create_menu_item: menus built whole")
        return False
    from gi.repository import Gtk

    plain_item = make_item

    def make(descriptor: Any) -> Any:
        submenu = getattr(descriptor, "submenu", None)
        if not submenu:
            return plain_item(descriptor)  # separators and entries: pystray's own code
        # A submenu entry is a label (our submenu entries are never checkable nor default).
        item = Gtk.MenuItem.new_with_label(descriptor.text)
        item.set_sensitive(descriptor.enabled)
        inner = Gtk.Menu.new()
        item.set_submenu(inner)
        filled = False

        def fill(_item: Any) -> None:
            nonlocal filled
            if filled:
                return
            filled = True
            for child in submenu:  # pystray's Menu yields its visible items
                inner.append(make(child))  # a nested submenu fills when it is opened in turn
            inner.show_all()

        item.connect("select", fill)
        return item

    # pystray's _create_menu calls self._create_menu_item for each entry: ours answers first.
    icon._create_menu_item = make
    return True
