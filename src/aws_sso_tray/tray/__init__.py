"""The tray face: `run_tray()` is what `aws-sso-tray tray` (and no command at all) runs.

- `menu`: the pure menu model (Snapshot + Settings -> MenuEntry tree, tooltip, icon state);
- `icons`: the state icons (Pillow), shipped as PNGs in `aws_sso_tray.assets` (top-level `assets/`);
- `backend`: which pystray backend, and is a tray host really there;
- `clipboard`: "copy export lines";
- `app`: the pystray icon bound to the engine.

Nothing here imports pystray, GTK or PIL at module level: the CLI imports this package cheaply,
and `import pystray` without a display raises (Xlib's DisplayNameError) rather than ImportError.
"""

from __future__ import annotations

import logging

from aws_sso_tray.errors import NoTrayError

log = logging.getLogger(__name__)


def run_tray(*, autostart: bool = False) -> int:
    """Run the tray until Quit or SIGTERM; returns the exit code.

    Raises NoTrayError (saying what to install) when no usable backend or tray host is there,
    so the caller can offer the headless daemon; when started at login (`autostart`) nothing may
    prompt, so it waits for the panel, then runs headless and says so in a notification.
    Raises AlreadyRunningError when another tray or daemon holds the engine lock.
    """
    from aws_sso_tray import api
    from aws_sso_tray.tray import allocator
    from aws_sso_tray.tray.backend import choose_backend, import_pystray

    allocator.limit_arenas()  # before the engine, notifier and GTK threads start
    api.log_settings_problems()
    try:
        backend = choose_backend(autostart=autostart)
        pystray = import_pystray(backend)
    except NoTrayError as exc:
        if not autostart:
            raise
        log.warning("tray: %s", exc.message)
        notice = api.notice(
            "no-tray",
            "aws-sso-tray runs without a tray icon",
            f"{exc.message}. Profiles are still kept fresh in the background.",
        )
        return api.run_headless(notice=notice)

    with api.Service("the tray") as service:
        from aws_sso_tray.tray.app import TrayApp

        # The icon starts the engine once it shows, and stops it (and the notifier) on Quit.
        app = TrayApp(service.engine, pystray, backend, notifier=service.notifier)
        return app.run()


__all__ = ["run_tray"]
