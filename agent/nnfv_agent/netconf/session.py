"""One NETCONF session over one SSH channel: hello, framing, the RPC loop, and clean shutdown."""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from lxml import etree

from ..xmlutil import NC, MalformedXml, parse, qn
from . import framing
from .dispatch import Counters, Dispatcher
from .errors import ErrorType, RpcError, error_reply

log = logging.getLogger(__name__)

BASE_10 = "urn:ietf:params:netconf:base:1.0"
BASE_11 = "urn:ietf:params:netconf:base:1.1"


class Channel(Protocol):
    def recv(self, nbytes: int) -> bytes: ...
    def sendall(self, data: bytes) -> None: ...
    def close(self) -> None: ...
    def settimeout(self, timeout: float | None) -> None: ...


# After a message this big, freed heap is handed back to the system (glibc keeps it otherwise).
TRIM_AFTER = 1024 * 1024


def _trim_heap() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to do


def element_count(message: bytes) -> int:
    """An upper bound of the elements in a message, without parsing it: its start tags."""
    return message.count(b"<") - message.count(b"</")


@dataclass
class Session:
    id: int
    username: str
    source_host: str
    channel: Channel
    dispatcher: Dispatcher[Session]
    max_message: int
    max_elements: int = 50_000
    hello_timeout: float = 30.0
    login_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    counters: Counters = field(default_factory=Counters)
    chunked: bool = False
    closing: bool = False
    # RFC 6470 termination-reason, and who killed the session.
    end_reason: str = "dropped"
    killed_by: int | None = None
    # Seconds without a message from the peer after which the session is closed (None: never),
    # unless `keep_idle()` says otherwise (RFC 8071: a session with a subscription stays).
    idle_timeout: float | None = None
    keep_idle: Callable[[], bool] | None = None

    def __post_init__(self) -> None:
        self._send_lock = threading.Lock()
        # Work that must follow the current RPC's reply on the wire (subscription replay).
        self.after_reply: list = []
        self._reader = framing.FrameReader(self.max_message)

    # ---- I/O ----------------------------------------------------------------------------

    def send(self, message: bytes) -> None:
        with self._send_lock:
            self.channel.sendall(framing.encode(message, self.chunked))

    def close(self) -> None:
        self.closing = True
        try:
            self.channel.close()
        except (OSError, EOFError):
            pass

    def alive(self) -> bool:
        """False once the session is closed or its peer has gone (work for it can stop)."""
        return not self.closing and not getattr(self.channel, "closed", False)

    def _messages(self, hello_deadline: float) -> Iterator[bytes | framing.TooBig]:
        hello = True
        while not self.closing:
            if hello:
                # The peer has until the deadline for its whole <hello>, however it dribbles it.
                left = hello_deadline - time.monotonic()
                if left <= 0:
                    self._hello_timed_out()
                    return
                self.channel.settimeout(left)
            try:
                data = self.channel.recv(65536)
            except TimeoutError:
                if hello:
                    self._hello_timed_out()
                elif self.keep_idle is not None and self.keep_idle():
                    continue
                else:
                    self._idle_timed_out()
                return
            except (OSError, EOFError):
                return
            if not data:
                return
            for message in self._reader.feed(data):
                if hello:
                    hello = False
                    self.channel.settimeout(self.idle_timeout)
                yield message

    def _hello_timed_out(self) -> None:
        self.end_reason = "timeout"
        self.dispatcher.stats.in_bad_hellos += 1
        log.warning(
            "session %d: no <hello> from %s within %g s, closing",
            self.id,
            self.source_host,
            self.hello_timeout,
        )

    def _idle_timed_out(self) -> None:
        self.end_reason = "timeout"
        log.info(
            "session %d: nothing from %s for %g s (idle_timeout), closing",
            self.id,
            self.source_host,
            self.idle_timeout,
        )

    # ---- lifecycle ----------------------------------------------------------------------

    def run(self) -> None:
        deadline = time.monotonic() + self.hello_timeout
        self.send(self._hello())
        messages = self._messages(deadline)
        try:
            first = next(messages, None)
            if first is None:
                return
            if not self._accept_hello(first):
                return
            for message in messages:
                if isinstance(message, framing.TooBig):
                    self.counters.in_bad_rpcs += 1
                    self._send_error(
                        None,
                        RpcError(
                            "too-big",
                            f"message of {message.size} bytes exceeds the limit of "
                            f"{self.max_message} bytes",
                            ErrorType.RPC,
                        ),
                    )
                    _trim_heap()
                    continue
                if element_count(message) > self.max_elements:
                    self.counters.in_bad_rpcs += 1
                    self._send_error(
                        None,
                        RpcError(
                            "too-big",
                            f"the message has more than {self.max_elements} elements "
                            "(max_message_elements)",
                            ErrorType.RPC,
                        ),
                    )
                    del message
                    _trim_heap()
                    continue
                reply = self.dispatcher.handle(self, message)
                if reply is not None:
                    self.send(reply)
                if len(message) > TRIM_AFTER or len(reply or b"") > TRIM_AFTER:
                    del message, reply
                    _trim_heap()
                while self.after_reply:
                    self.after_reply.pop(0)()
                if self.closing:
                    return
        except framing.FramingError as exc:
            log.warning("session %d: framing error, closing: %s", self.id, exc)
        except (OSError, EOFError) as exc:
            log.info("session %d: transport closed: %s", self.id, exc)

    def _hello(self) -> bytes:
        hello = etree.Element(qn(NC, "hello"), nsmap={None: NC})
        caps = etree.SubElement(hello, qn(NC, "capabilities"))
        for cap in self.dispatcher.capabilities():
            etree.SubElement(caps, qn(NC, "capability")).text = cap
        etree.SubElement(hello, qn(NC, "session-id")).text = str(self.id)
        return etree.tostring(hello, xml_declaration=True, encoding="UTF-8")

    def _accept_hello(self, message: bytes | framing.TooBig) -> bool:
        stats = self.dispatcher.stats
        try:
            if isinstance(message, framing.TooBig) or element_count(message) > self.max_elements:
                raise MalformedXml("hello too big")
            hello = parse(message)
            if hello.tag != qn(NC, "hello"):
                raise MalformedXml(f"expected <hello>, got <{etree.QName(hello).localname}>")
            if hello.find(qn(NC, "session-id")) is not None:
                raise MalformedXml("a client <hello> must not carry a session-id")
            caps = {(c.text or "").strip() for c in hello.iter(qn(NC, "capability"))}
        except MalformedXml as exc:
            stats.in_bad_hellos += 1
            self.end_reason = "bad-hello"
            log.warning("session %d: bad hello from %s: %s", self.id, self.source_host, exc)
            return False
        if BASE_11 in caps:
            self.chunked = True
            self._reader.chunked = True
        elif BASE_10 not in caps:
            stats.in_bad_hellos += 1
            self.end_reason = "bad-hello"
            log.warning("session %d: no common base capability", self.id)
            return False
        return True

    def _send_error(self, attrs: dict[str, str] | None, error: RpcError) -> None:
        self.counters.out_rpc_errors += 1
        self.dispatcher.stats.out_rpc_errors += 1
        self.send(error_reply(attrs, error))
