"""RFC 5277 event notifications: one NETCONF stream, filters, replay, and :interleave.

Producers call `EventLog.publish(content_xml)`. Every event is kept in a bounded buffer for
replay and handed to each live subscription whose filter selects it. Delivery reuses the
session's send lock, so notifications interleave with RPC replies without tearing frames.
"""

from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lxml import etree

from .errors import ErrorType, RpcError
from .filters import subtree, xpath
from .xml import NC, child, qn

if TYPE_CHECKING:
    from .dispatch import Dispatcher
    from .filters import KeysOf
    from .session import Session

log = logging.getLogger(__name__)

NOTIF = "urn:ietf:params:xml:ns:netconf:notification:1.0"
NCEVENT = "urn:ietf:params:xml:ns:netmod:notification"
STREAM = "NETCONF"


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


@dataclass
class Subscription:
    session: Session
    filter: etree._Element | None
    start: datetime | None
    stop: datetime | None
    keys_of: KeysOf
    timer: threading.Timer | None = field(default=None, repr=False)

    def wants(self, event: Event) -> bool:
        if self.stop is not None and event.time > self.stop:
            return False
        if self.filter is None:
            return True
        content = etree.fromstring(event.content.encode())
        if self.filter.get("type", "subtree") == "xpath":
            return bool(
                xpath([content], self.filter.get("select", ""), self.filter.nsmap, self.keys_of)
            )
        return bool(subtree([content], self.filter, self.keys_of))

    def send(self, event: Event) -> None:
        try:
            self.session.send(event.message())
            self.session.counters.out_notifications += 1
        except (OSError, EOFError) as exc:
            log.info("session %d: notification not delivered: %s", self.session.id, exc)


class EventLog:
    def __init__(self, dispatcher: Dispatcher, keys_of: KeysOf, size: int = 1000) -> None:
        self.created = now()
        self.dispatcher = dispatcher
        self.keys_of = keys_of
        self.events: collections.deque[Event] = collections.deque(maxlen=size)
        self.subscriptions: dict[int, Subscription] = {}
        self.lock = threading.RLock()
        dispatcher.register(NOTIF, "create-subscription", self.create_subscription)

    # ---- producers ------------------------------------------------------------------------

    def publish(self, content: str) -> None:
        with self.lock:
            event = Event(now(), content)
            self.events.append(event)
            for sub in list(self.subscriptions.values()):
                if sub.start is None or event.time >= sub.start:
                    if sub.wants(event):
                        sub.send(event)
                        self.dispatcher.stats.out_notifications += 1

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
        with self.lock:
            if session.id in self.subscriptions:
                raise RpcError(
                    "operation-failed",
                    "this session already has a subscription (RFC 5277 allows one per session)",
                    ErrorType.PROTOCOL,
                )
            sub = Subscription(session, filt, start, stop, self.keys_of)
            self.subscriptions[session.id] = sub
        # Replay and live delivery start once the <ok/> is on the wire.
        session.after_reply.append(lambda: self._begin(sub))
        return None

    def _begin(self, sub: Subscription) -> None:
        with self.lock:
            if sub.start is not None:
                for event in list(self.events):
                    if event.time >= sub.start and sub.wants(event):
                        sub.send(event)
                sub.send(Event(now(), f'<replayComplete xmlns="{NCEVENT}"/>'))
            if sub.stop is not None:
                delay = max(0.0, (sub.stop - now()).total_seconds())
                sub.timer = threading.Timer(delay, self._complete, args=(sub,))
                sub.timer.daemon = True
                sub.timer.start()

    def _complete(self, sub: Subscription) -> None:
        with self.lock:
            if self.subscriptions.get(sub.session.id) is sub:
                sub.send(Event(now(), f'<notificationComplete xmlns="{NCEVENT}"/>'))
                del self.subscriptions[sub.session.id]

    def session_ended(self, session_id: int) -> None:
        with self.lock:
            sub = self.subscriptions.pop(session_id, None)
        if sub and sub.timer:
            sub.timer.cancel()

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
