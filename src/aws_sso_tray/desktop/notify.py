"""The one narrow door to desktop notifications.

`Notifier` wraps desktop-notifier's async `DesktopNotifier` and runs it on a thread of its own
with a running asyncio loop: action callbacks (the "Log in" button) are only delivered while a
loop runs, and no caller has to own one. `send` is thread-safe, never raises and returns at once;
`on_action(key)` is called on the notifier thread when the user presses a notice's button (or
clicks the body of a notice that has a button: the one thing such a notice offers).

Where notifications cannot be shown (no D-Bus session bus, no `org.freedesktop.Notifications`
owner or activatable service, notifications turned off) notices are logged at INFO instead. We
check for the service first because desktop-notifier logs a traceback and carries on when the
bus is missing; a traceback for "no notification server" would only frighten people.

Each notice has a `key`: a notice replaces the one on screen with the same key (the previous one
is closed, then the new one shown) instead of stacking. Deciding *when* to notify (at most once
per event) is the engine's job, not this module's.

On Linux the action path is exactly the server's: it emits `ActionInvoked(id, action)` from the
connection that owns `org.freedesktop.Notifications`, and dbus-fast accepts it only from that
owner. macOS and Windows use desktop-notifier's native back ends; there callbacks depend on the
platform's run loop and are best effort.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import sys
import threading
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from desktop_notifier import DesktopNotifier

log = logging.getLogger(__name__)

Urgency = Literal["low", "normal", "critical"]
NOTIFICATIONS_BUS_NAME = "org.freedesktop.Notifications"
ACTION_ID = "action"  # the button's action key on the wire
START_TIMEOUT = 3.0  # start() waits this long for the bus check
STOP_TIMEOUT = 0.9  # stop() finishes within a second
_PROBE_TIMEOUT = 2.0
SEND_TIMEOUT = 5.0


@dataclass(frozen=True)
class Notice:
    key: str  # identifies the event ("session-ending:corp"); same key replaces on screen
    title: str
    message: str
    action_label: str | None = None  # e.g. "Log in": a button; on_action(key) when pressed
    urgency: Urgency = "normal"


class Notifier:
    """Desktop notifications on a thread of their own; logging where there is no desktop."""

    def __init__(
        self,
        app_name: str = "aws-sso-tray",
        *,
        enabled: bool = True,
        on_action: Callable[[str], None] | None = None,
        icon: Path | None = None,
    ) -> None:
        self.app_name = app_name
        self.enabled = enabled
        self.on_action = on_action
        self.icon = icon
        self.unavailable_reason: str | None = "not started"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        # Touched only on the notifier thread:
        self._notifier: DesktopNotifier | None = None
        # notice key -> (desktop-notifier identifier, has a button) for notices on screen
        self._shown: dict[str, tuple[str, bool]] = {}
        self._send_lock: asyncio.Lock | None = None

    @property
    def available(self) -> bool:
        """True when notices reach a notification server; False means they are logged instead."""
        return self.unavailable_reason is None

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the notifier thread and check for a notification service (waits up to 3 s)."""
        with self._lock:
            if self._thread is not None:
                return
            self._ready.clear()
            self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
            self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            log.info("notifications: the bus check is slow; notices are logged until it answers")

    def stop(self) -> None:
        """Close notices whose buttons would no longer work, stop the thread (within a second)."""
        with self._lock:
            thread, loop = self._thread, self._loop
            self._thread = None
        if thread is None:
            return
        deadline = STOP_TIMEOUT / 2
        if loop is not None and loop.is_running():
            try:
                future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
                future.result(timeout=deadline)
            except (concurrent.futures.TimeoutError, RuntimeError):
                log.debug("notifications: shutdown did not finish in time")
            except Exception as exc:
                log.debug("notifications: shutdown failed: %s", exc)
            if not loop.is_closed():
                loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=deadline)
        self.unavailable_reason = "stopped"
        # A later start() gets a new loop: nothing bound to this one may be reused.
        self._notifier = None
        self._shown = {}
        self._send_lock = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            reason = loop.run_until_complete(_notification_service_problem())
            self.unavailable_reason = reason
            if reason is None:
                log.debug("notifications: notification service found")
            else:
                log.info("notifications: %s; notices are logged instead", reason)
        except Exception as exc:  # a bug in the check must not stop the app
            self.unavailable_reason = f"bus check failed ({exc})"
            log.info("notifications: %s", self.unavailable_reason)
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            finally:
                loop.close()

    # --- sending --------------------------------------------------------------------------------

    def send(self, notice: Notice) -> None:
        """Show `notice` (replacing the one with the same key); log it where we cannot show it."""
        try:
            loop = self._loop
            if not self.enabled:
                _log_notice(notice, "notifications are off")
                return
            if not self.available or loop is None or loop.is_closed():
                _log_notice(notice, self.unavailable_reason or "no notification service")
                return
            if not _submit(loop, self._show(notice)):
                _log_notice(notice, "the notifier has stopped")
        except Exception as exc:  # e.g. the loop closed between the check and the call
            _log_notice(notice, f"could not hand it to the notifier ({exc})")

    def clear(self, key: str) -> None:
        """Close the notice with `key` if it is on screen (e.g. once the user has logged in)."""
        loop = self._loop
        if not self.available or loop is None or loop.is_closed():
            return
        _submit(loop, self._close(key))

    async def _show(self, notice: Notice) -> None:
        # One at a time: a second notice with the same key must see the first one to replace it.
        if self._send_lock is None:
            self._send_lock = asyncio.Lock()
        async with self._send_lock:
            try:
                await asyncio.wait_for(self._show_now(notice), SEND_TIMEOUT)
            except asyncio.TimeoutError:
                self._notifier = None  # a hung server: reconnect next time
                _log_notice(notice, f"the notification server did not answer in {SEND_TIMEOUT} s")

    async def _show_now(self, notice: Notice) -> None:
        from desktop_notifier import Button, Icon, Notification
        from desktop_notifier import Urgency as DnUrgency

        try:
            notifier = self._desktop_notifier()
            await self._close(notice.key)
            fire = _Fire(self, notice.key)
            buttons: tuple[Any, ...] = ()
            if notice.action_label:
                buttons = (Button(notice.action_label, on_pressed=fire, identifier=ACTION_ID),)
            notification = Notification(
                notice.title,
                notice.message,
                urgency=DnUrgency(notice.urgency),
                buttons=buttons,
                on_clicked=fire if notice.action_label else None,
                on_dismissed=_Forget(self, notice.key),
                icon=Icon(path=self.icon) if self.icon else None,
                identifier=f"{notice.key}#{uuid.uuid4().hex[:12]}",
            )
            await notifier.send_notification(notification)
            if notification.identifier in await notifier.get_current_notifications():
                self._shown[notice.key] = (notification.identifier, bool(notice.action_label))
                return
            # desktop-notifier logged why (one line, see _OneLineFailures); start afresh next time:
            # the server may have restarted, leaving the old connection useless.
            self._notifier = None
            _log_notice(notice, "the notification server did not take it")
        except Exception as exc:
            self._notifier = None
            log.debug("notifications: send failed", exc_info=True)
            _log_notice(notice, f"sending failed: {exc}")

    async def _close(self, key: str) -> None:
        shown = self._shown.pop(key, None)
        if shown is None or self._notifier is None:
            return
        identifier = shown[0]
        try:
            if identifier in await self._notifier.get_current_notifications():
                await self._notifier.clear(identifier)
        except Exception as exc:  # closed by the user meanwhile, or the server went away
            log.debug("notifications: could not close %s: %s", key, exc)

    async def _shutdown(self) -> None:
        notifier = self._notifier
        if notifier is None:
            return
        # A button nobody listens to is a lie: close notices that have one.
        for key, (_identifier, has_action) in list(self._shown.items()):
            if has_action:
                await self._close(key)
        bus = getattr(notifier._backend, "bus", None)  # desktop-notifier keeps no public handle
        if bus is not None:
            bus.disconnect()

    def _desktop_notifier(self) -> DesktopNotifier:
        if self._notifier is None:
            from desktop_notifier import DesktopNotifier

            _install_one_line_failures()
            self._notifier = DesktopNotifier(app_name=self.app_name, app_icon=None)
            self._shown.clear()
        return self._notifier

    def _fire_action(self, key: str) -> None:
        self._shown.pop(key, None)
        callback = self.on_action
        if callback is None:
            return
        try:
            callback(key)
        except Exception:
            # The callback is the engine's; its bug must not kill the notifier loop.
            log.exception("notifications: the action handler for %s failed", key)


@dataclass(frozen=True)
class _Fire:
    notifier: Notifier
    key: str

    def __call__(self) -> None:
        self.notifier._fire_action(self.key)


@dataclass(frozen=True)
class _Forget:
    notifier: Notifier
    key: str

    def __call__(self) -> None:
        self.notifier._shown.pop(self.key, None)


def _submit(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]) -> bool:
    """Hand `coro` to the notifier loop; False (and no "never awaited" warning) when it is gone."""
    try:
        asyncio.run_coroutine_threadsafe(coro, loop)
    except RuntimeError:
        coro.close()
        return False
    return True


def _log_notice(notice: Notice, why: str) -> None:
    log.info("notice (%s): %s: %s", why, notice.title, notice.message)


async def _notification_service_problem() -> str | None:
    """None when a notification service is reachable, else why not (one line)."""
    if sys.platform in ("darwin", "win32"):
        return None  # native back ends: nothing to probe
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if address and "gi.repository.Gio" in sys.modules:
        # The tray: GTK has loaded GIO, which asks the same questions, so dbus-fast (2.5 MB of
        # RSS that would stay for the process's life) loads only once a notice is shown.
        return _service_problem_by_gio(address)
    from dbus_fast import Message, MessageType
    from dbus_fast.aio import MessageBus

    try:
        bus = await asyncio.wait_for(MessageBus().connect(), _PROBE_TIMEOUT)
    except Exception as exc:
        return f"no D-Bus session bus ({exc})"
    try:

        async def ask(member: str, signature: str = "", body: list[Any] | None = None) -> Any:
            reply = await asyncio.wait_for(
                bus.call(
                    Message(
                        destination="org.freedesktop.DBus",
                        path="/org/freedesktop/DBus",
                        interface="org.freedesktop.DBus",
                        member=member,
                        signature=signature,
                        body=body or [],
                    )
                ),
                _PROBE_TIMEOUT,
            )
            if reply is None or reply.message_type != MessageType.METHOD_RETURN:
                raise RuntimeError(f"{member} failed")
            return reply.body[0]

        if await ask("NameHasOwner", "s", [NOTIFICATIONS_BUS_NAME]):
            return None
        # A server such as dunst or mako is often started on demand by D-Bus activation.
        if NOTIFICATIONS_BUS_NAME in await ask("ListActivatableNames"):
            return None
        return f"no notification service ({NOTIFICATIONS_BUS_NAME}) on the session bus"
    except Exception as exc:
        return f"the session bus did not answer ({exc})"
    finally:
        bus.disconnect()


def _service_problem_by_gio(address: str) -> str | None:
    """`_notification_service_problem` asked through GIO, on a connection of its own to
    `address` (closed after), each step given up after _PROBE_TIMEOUT as there."""
    from gi.repository import Gio, GLib

    cancel = Gio.Cancellable()
    timer = threading.Timer(_PROBE_TIMEOUT, cancel.cancel)
    timer.daemon = True
    timer.start()
    flags = (
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
        | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION
    )
    try:
        bus = Gio.DBusConnection.new_for_address_sync(address, flags, None, cancel)
    except GLib.Error as exc:
        timer.cancel()
        return f"no D-Bus session bus ({exc.message})"
    timer.cancel()

    def ask(member: str, args: Any = None) -> Any:
        reply = bus.call_sync(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            member,
            args,
            None,
            Gio.DBusCallFlags.NONE,
            int(_PROBE_TIMEOUT * 1000),
            None,
        )
        return reply.unpack()[0]

    try:
        if ask("NameHasOwner", GLib.Variant("(s)", (NOTIFICATIONS_BUS_NAME,))):
            return None
        # A server such as dunst or mako is often started on demand by D-Bus activation.
        if NOTIFICATIONS_BUS_NAME in ask("ListActivatableNames"):
            return None
        return f"no notification service ({NOTIFICATIONS_BUS_NAME}) on the session bus"
    except GLib.Error as exc:
        return f"the session bus did not answer ({exc.message})"
    finally:
        bus.close_sync(None)


class _OneLineFailures(logging.Filter):
    """desktop-notifier logs a failed send with a traceback: keep the reason, drop the trace."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {exc}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


_filter_installed = False


def _install_one_line_failures() -> None:
    global _filter_installed
    if not _filter_installed:
        logging.getLogger("desktop_notifier.backends.base").addFilter(_OneLineFailures())
        _filter_installed = True


__all__ = ["ACTION_ID", "Notice", "Notifier", "Urgency"]
