"""Where the engine's state goes out: the current snapshot, its subscribers, the status file,
and the desktop notices.

`Outbox.publish` makes a new snapshot the current one when it says something new, writes it to
the status file `status` reads and calls the subscribers (the tray); `notify` asks `alerts` which
notices the change calls for and sends them (or logs them, where notices are off or there is no
desktop). Safe to call from any thread: the snapshot and the subscribers sit behind one lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from aws_sso_tray.desktop.notify import Notice
from aws_sso_tray.engine import alerts
from aws_sso_tray.snapshot import Snapshot

log = logging.getLogger(__name__)

Subscriber = Callable[[Snapshot], None]


class NoticeSink(Protocol):
    """What the engine needs of `notify.Notifier`."""

    def send(self, notice: Notice) -> None: ...

    def clear(self, key: str) -> None: ...


class Outbox:
    """The published snapshot, its subscribers, and the notices; see the module docstring."""

    def __init__(
        self,
        first: Snapshot,
        *,
        notifier: NoticeSink | None,
        notifications: Callable[[], bool],
        publish_file: bool,
    ) -> None:
        self._notifier = notifier
        self._notifications = notifications  # the setting, read at each notice
        self._publish_file = publish_file
        self._lock = threading.Lock()
        self._snapshot = first
        self._published = False
        self._subscribers: list[Subscriber] = []
        self._alert_prev: Snapshot | None = None  # only the worker thread notifies
        self._sent = alerts.Sent()

    @property
    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, snap: Snapshot, *, force: bool = False) -> None:
        """Make `snap` current and hand it on, when it says something new (or `force`: the
        settings changed, which subscribers read beside the snapshot)."""
        with self._lock:
            previous = self._snapshot
            # The first build is always published: `status` must find a running engine's
            # snapshot even when it equals the empty initial one (no SSO profiles yet).
            changed = (
                force
                or not self._published
                or dataclasses.replace(snap, taken_at=previous.taken_at) != previous
            )
            self._published = True
            if changed:
                self._snapshot = snap
            subscribers = list(self._subscribers)
        if not changed:
            return
        if self._publish_file:
            from aws_sso_tray.engine import statusfile

            statusfile.write_snapshot(snap)
        for callback in subscribers:
            try:
                callback(snap)
            except Exception:
                log.exception("a snapshot subscriber failed")

    def notify(self, snap: Snapshot, now: datetime, warn_before: timedelta) -> None:
        """Send the notices the change to `snap` calls for; take stale ones off the screen."""
        decision = alerts.decide(
            self._alert_prev, snap, self._sent, now=now, warn_before=warn_before
        )
        self._alert_prev, self._sent = snap, decision.sent
        if self._notifier is not None and self._notifications():
            for key in decision.clear:
                self._notifier.clear(key)
        for notice in decision.notices:
            self.send(notice)

    def send(self, notice: Notice) -> None:
        if self._notifier is None:
            log.info("notice: %s: %s", notice.title, notice.message)
            return
        if not self._notifications():
            log.info("notice (notifications off): %s: %s", notice.title, notice.message)
            return
        try:
            self._notifier.send(notice)
        except Exception:
            log.exception("sending a notice failed")


__all__ = ["NoticeSink", "Outbox", "Subscriber"]
