"""RFC 5277 event notifications: one NETCONF stream, filters, replay, and :interleave.

Producers call `EventLog.publish(content_xml)`. Every event is kept in a bounded buffer for
replay and put, without waiting, on each live subscription's own bounded queue. Each subscription
has one writer thread that drains its queue: it applies the subscription's filter and sends on
the session (through the session's send lock, so notifications interleave with RPC replies
without tearing frames). A peer that stops reading therefore blocks only its own writer; once
its queue is full the subscription is dropped, its session closed and the reason logged.
`publish` never waits for a subscriber and never evaluates a filter.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from lxml import etree

from ..xmlutil import NC, child, qn
from .budget import Budget
from .errors import ErrorType, RpcError
from .filters import subtree
from .xpath_filter import compile_xpath, selects

if TYPE_CHECKING:
    from .dispatch import Dispatcher
    from .interfaces import KeysOf
    from .session import Session

log = logging.getLogger(__name__)

NOTIF = "urn:ietf:params:xml:ns:netconf:notification:1.0"
NCEVENT = "urn:ietf:params:xml:ns:netmod:notification"
NCN = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"
STREAM = "NETCONF"
# RFC 6470 termination-reason values.
TERMINATION_REASONS = ("closed", "killed", "dropped", "timeout", "bad-hello", "other")


def now() -> datetime:
    return datetime.now(UTC)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str, name: str) -> datetime:
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise RpcError(
            "bad-element",
            f"{name} '{text}' is not a date-and-time",
            ErrorType.PROTOCOL,
            info={"bad-element": name},
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    time: datetime
    content: str  # one element, serialized

    def message(self) -> bytes:
        return (
            f'<notification xmlns="{NOTIF}"><eventTime>{iso(self.time)}</eventTime>'
            f"{self.content}</notification>"
        ).encode()


_STOP = object()  # tells a writer to finish


@dataclass
class Subscription:
    session: Session
    filter: etree._Element | None
    start: datetime | None
    stop: datetime | None
    keys_of: KeysOf
    queue_size: int
    # A fresh budget per event: filters are hostile input too (time, memory, session alive).
    budget: Callable[[], Budget] = field(default=Budget, repr=False)
    queue: queue.Queue = field(init=False, repr=False)
    # Set when the subscription ends (stopTime, session end, overflow): the writer stops.
    ended: threading.Event = field(default_factory=threading.Event, repr=False)
    replay: list[Event] = field(default_factory=list, repr=False)
    writer: threading.Thread | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.queue = queue.Queue(self.queue_size)
        self._xpath = None
        if self.filter is not None and self.filter.get("type", "subtree") == "xpath":
            self._xpath = compile_xpath(self.filter.get("select", ""), self.filter.nsmap)

    def wants(self, event: Event) -> bool:
        if self.stop is not None and event.time > self.stop:
            return False
        if self.filter is None:
            return True
        content = etree.fromstring(event.content.encode())
        if self._xpath is not None:
            return selects(self._xpath, content, self.budget())
        return bool(subtree([content], self.filter, self.keys_of, self.budget()))

    def offer(self, event: Event) -> bool:
        """Queue a live event without waiting; False when the queue is full."""
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            return False
        return True

    def send(self, event: Event) -> bool:
        try:
            self.session.send(event.message())
        except (OSError, EOFError) as exc:
            log.info("session %d: notification not delivered: %s", self.session.id, exc)
            return False
        self.session.counters.out_notifications += 1
        self.session.dispatcher.stats.out_notifications += 1
        return True


class EventLog:
    def __init__(
        self,
        dispatcher: Dispatcher,
        keys_of: KeysOf,
        size: int = 1000,
        *,
        queue_size: int = 256,
        drop: Callable[[Session, str], None] | None = None,
        filter_timeout: float = 10.0,
        filter_memory: int = 64 * 1024 * 1024,
    ) -> None:
        self.created = now()
        self.dispatcher = dispatcher
        self.keys_of = keys_of
        self.queue_size = queue_size
        self.filter_timeout = filter_timeout
        self.filter_memory = filter_memory
        # What to do with the session of a subscriber that fell behind (default: close it).
        self.drop = drop or _close_session
        self.events: collections.deque[Event] = collections.deque(maxlen=size)
        self.subscriptions: dict[int, Subscription] = {}
        self.lock = threading.Lock()  # guards events and subscriptions; never held while sending
        # Access control: an event's content as a subscriber may see it, or None (dropped).
        self.visible: Callable[[Session, str], str | None] | None = None
        dispatcher.register(NOTIF, "create-subscription", self.create_subscription)

    # ---- producers ------------------------------------------------------------------------

    def publish(self, content: str) -> None:
        """Record an event and queue it for every live subscription. Never blocks."""
        overflowed: list[Subscription] = []
        with self.lock:
            event = Event(now(), content)
            self.events.append(event)
            for sub in list(self.subscriptions.values()):
                if sub.start is not None and event.time < sub.start:
                    continue
                if not sub.offer(event):
                    del self.subscriptions[sub.session.id]
                    overflowed.append(sub)
        for sub in overflowed:
            sub.ended.set()
            log.warning(
                "session %d: dropped its notification subscription: %d events queued and the "
                "peer is not reading them; closing the session",
                sub.session.id,
                self.queue_size,
            )
            self.drop(sub.session, "dropped")

    def session_started(self, session: Session) -> None:
        """RFC 6470 netconf-session-start."""
        self.publish(
            f'<netconf-session-start xmlns="{NCN}">{_who(session)}</netconf-session-start>'
        )

    def session_finished(self, session: Session, reason: str, killed_by: int | None) -> None:
        """RFC 6470 netconf-session-end."""
        killer = f"<killed-by>{killed_by}</killed-by>" if killed_by is not None else ""
        if reason not in TERMINATION_REASONS:
            reason = "other"
        self.publish(
            f'<netconf-session-end xmlns="{NCN}">{_who(session)}{killer}'
            f"<termination-reason>{reason}</termination-reason></netconf-session-end>"
        )

    # ---- the RPC ----------------------------------------------------------------------

    def create_subscription(self, session: Session, op: etree._Element) -> None:
        stream = (op.findtext(qn(NOTIF, "stream")) or STREAM).strip()
        if stream != STREAM:
            raise RpcError(
                "invalid-value",
                f"no event stream named '{stream}' (only NETCONF)",
                ErrorType.APPLICATION,
                info={"bad-element": "stream"},
            )
        start_text, stop_text = (
            op.findtext(qn(NOTIF, "startTime")),
            op.findtext(qn(NOTIF, "stopTime")),
        )
        start = parse_time(start_text, "startTime") if start_text else None
        stop = parse_time(stop_text, "stopTime") if stop_text else None
        if stop is not None and start is None:
            raise RpcError(
                "missing-element",
                "stopTime needs a startTime",
                ErrorType.PROTOCOL,
                info={"bad-element": "startTime"},
            )
        if start is not None and start > now():
            raise RpcError(
                "bad-element",
                "startTime is in the future",
                ErrorType.PROTOCOL,
                info={"bad-element": "startTime"},
            )
        if start is not None and stop is not None and stop < start:
            raise RpcError(
                "bad-element",
                "stopTime is earlier than startTime",
                ErrorType.PROTOCOL,
                info={"bad-element": "stopTime"},
            )
        filt = op.find(qn(NOTIF, "filter"))
        if filt is None:
            filt = child(op, "filter", NC)
        if filt is not None:
            _check_filter(filt)
        # Compiles the filter: a bad one is refused here, before anything is subscribed.
        sub = Subscription(session, filt, start, stop, self.keys_of, self.queue_size)
        sub.budget = lambda: Budget(
            self.filter_timeout,
            self.filter_memory,
            lambda: sub.ended.is_set() or not session.alive(),
        )
        with self.lock:
            if session.id in self.subscriptions:
                raise RpcError(
                    "operation-failed",
                    "this session already has a subscription (RFC 5277 allows one per session)",
                    ErrorType.PROTOCOL,
                )
            # Live events queue from now on, so none falls between the reply and the writer.
            if start is not None:
                sub.replay = [e for e in self.events if e.time >= start]
            self.subscriptions[session.id] = sub
        # Replay and delivery start once the <ok/> is on the wire.
        session.after_reply.append(lambda: self._begin(sub))
        return None

    def _begin(self, sub: Subscription) -> None:
        sub.writer = threading.Thread(
            target=self._write, args=(sub,), daemon=True, name=f"notify-{sub.session.id}"
        )
        try:
            sub.writer.start()
        except RuntimeError as exc:  # no thread could be started (a task limit)
            with self.lock:
                if self.subscriptions.get(sub.session.id) is sub:
                    del self.subscriptions[sub.session.id]
            sub.ended.set()
            log.error("session %d: subscription dropped, no writer thread: %s", sub.session.id, exc)
            self.drop(sub.session, "other")

    def _write(self, sub: Subscription) -> None:
        """The subscription's writer: replay, then live events, until the subscription ends."""
        if sub.start is not None:
            for event in sub.replay:
                if sub.ended.is_set():
                    return
                shown = self._visible(sub, event)
                if shown is not None and self._selects(sub, shown) and not sub.send(shown):
                    return
            sub.replay = []
            if not sub.send(Event(now(), f'<replayComplete xmlns="{NCEVENT}"/>')):
                return
        while not sub.ended.is_set():
            timeout = None
            if sub.stop is not None:
                timeout = max(0.0, (sub.stop - now()).total_seconds())
            try:
                item = sub.queue.get(timeout=timeout)
            except queue.Empty:  # stopTime has passed
                self._complete(sub)
                return
            if item is _STOP or sub.ended.is_set():
                return
            shown = self._visible(sub, item)
            if shown is not None and self._selects(sub, shown) and not sub.send(shown):
                return

    def _visible(self, sub: Subscription, event: Event) -> Event | None:
        """The event as NACM lets this subscriber see it (checked when it is sent, with the
        rules in force then), or None."""
        if self.visible is None:
            return event
        try:
            content = self.visible(sub.session, event.content)
        except Exception as exc:  # noqa: BLE001 - a failed check withholds, never leaks
            log.warning("session %d: notification access check failed: %s", sub.session.id, exc)
            return None
        if content is None:
            return None
        return event if content is event.content else Event(event.time, content)

    def _selects(self, sub: Subscription, event: Event) -> bool:
        try:
            return sub.wants(event)
        except Exception as exc:  # noqa: BLE001 - one subscriber's filter never affects others
            log.warning("session %d: notification filter failed: %s", sub.session.id, exc)
            return False

    def _complete(self, sub: Subscription) -> None:
        with self.lock:
            if self.subscriptions.get(sub.session.id) is sub:
                del self.subscriptions[sub.session.id]
        sub.ended.set()
        sub.send(Event(now(), f'<notificationComplete xmlns="{NCEVENT}"/>'))

    def session_ended(self, session_id: int) -> None:
        with self.lock:
            sub = self.subscriptions.pop(session_id, None)
        if sub is not None:
            sub.ended.set()
            try:
                sub.queue.put_nowait(_STOP)
            except queue.Full:
                pass  # the writer sees `ended` once its blocked send fails on the closed channel

    # ---- state data -------------------------------------------------------------------

    def streams_xml(self) -> str:
        return (
            f'<netconf xmlns="{NCEVENT}"><streams><stream><name>{STREAM}</name>'
            "<description>Default NETCONF event stream: NF and graph state, capability "
            "changes and configuration changes</description>"
            "<replaySupport>true</replaySupport>"
            f"<replayLogCreationTime>{iso(self.created)}</replayLogCreationTime>"
            "</stream></streams></netconf>"
        )


def _check_filter(filt: etree._Element) -> None:
    kind = filt.get("type", "subtree")
    if kind == "xpath":
        if not filt.get("select"):
            raise RpcError(
                "missing-attribute",
                "an XPath filter needs a select attribute",
                ErrorType.PROTOCOL,
                info={"bad-attribute": "select", "bad-element": "filter"},
            )
    elif kind != "subtree":
        raise RpcError(
            "bad-attribute",
            f"unknown filter type '{kind}'",
            ErrorType.PROTOCOL,
            info={"bad-attribute": "type", "bad-element": "filter"},
        )


def _who(session: Session) -> str:
    return (
        f"<username>{escape(session.username)}</username>"
        f"<session-id>{session.id}</session-id>"
        f"<source-host>{escape(session.source_host)}</source-host>"
    )


def _close_session(session: Session, reason: str) -> None:
    # Closing may wait on the peer's TCP window, so it never runs on the publisher's thread.
    session.end_reason = reason
    threading.Thread(target=session.close, daemon=True, name=f"drop-{session.id}").start()
