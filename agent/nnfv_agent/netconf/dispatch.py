"""RPC dispatch: envelope checks, a registry from (namespace, name) to handler, and replies."""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

from lxml import etree

from ..errors import AgentError, Scope
from ..xmlutil import NC, MalformedXml, parse, qn, reply_element
from .errors import ErrorType, RpcError, error_reply, internal_error, operation_not_supported

log = logging.getLogger(__name__)


@dataclass
class RawData:
    """Reply content that is already serialized XML, wrapped in <data> (saves a re-parse)."""

    xml: str
    wrapper: str = "data"


@dataclass
class Counters:
    """One session's RPC counters (ietf-netconf-monitoring), kept by the dispatcher."""

    in_rpcs: int = 0
    in_bad_rpcs: int = 0
    out_rpc_errors: int = 0
    out_notifications: int = 0


class Caller(Protocol):
    """What the dispatcher (and who reads CURRENT_SESSION) needs of the session an RPC came
    on; the handlers get the session itself (the dispatcher is generic in its type, so
    netconf.session is not imported here)."""

    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str: ...

    @property
    def source_host(self) -> str: ...

    @property
    def counters(self) -> Counters: ...


S = TypeVar("S", bound=Caller)

# The session whose RPC this thread is serving (for who-changed-what notifications).
CURRENT_SESSION: ContextVar[Caller | None] = ContextVar("current_session", default=None)

Reply = None | RawData | list[etree._Element]


@dataclass
class Statistics:
    start_time: datetime
    in_bad_hellos: int = 0
    in_sessions: int = 0
    dropped_sessions: int = 0
    in_rpcs: int = 0
    in_bad_rpcs: int = 0
    out_rpc_errors: int = 0
    out_notifications: int = 0


class Dispatcher(Generic[S]):
    def __init__(self, capabilities: Callable[[], list[str]]) -> None:
        self.handlers: dict[tuple[str, str], Callable[[S, etree._Element], Reply]] = {}
        self.capabilities = capabilities
        self.stats = Statistics(datetime.now(UTC))
        # Raises (access-denied) when the session may not run the operation (namespace, name).
        self.exec_check: Callable[[S, str, str], None] | None = None

    def register(
        self, namespace: str, name: str, handler: Callable[[S, etree._Element], Reply]
    ) -> None:
        self.handlers[(namespace, name)] = handler

    def handle(self, session: S, message: bytes) -> bytes | None:
        attrs: dict[str, str] = {}
        try:
            try:
                rpc = parse(message)
            except MalformedXml as exc:
                raise RpcError(
                    "malformed-message", f"the message is not well-formed XML: {exc}", ErrorType.RPC
                ) from None
            if rpc.tag != qn(NC, "rpc"):
                raise RpcError(
                    "unknown-element",
                    f"expected <rpc>, got <{etree.QName(rpc).localname}>",
                    ErrorType.RPC,
                    info={"bad-element": etree.QName(rpc).localname},
                )
            attrs = dict(rpc.attrib)
            if "message-id" not in attrs:
                raise RpcError(
                    "missing-attribute",
                    "<rpc> has no message-id attribute",
                    ErrorType.RPC,
                    info={"bad-attribute": "message-id", "bad-element": "rpc"},
                )
            ops = [c for c in rpc if isinstance(c.tag, str)]
            if len(ops) != 1:
                raise RpcError(
                    "malformed-message", "<rpc> must hold exactly one operation", ErrorType.RPC
                )
            op = ops[0]
            q = etree.QName(op)
            handler = self.handlers.get((q.namespace or "", q.localname))
            if handler is None:
                raise operation_not_supported(
                    f"the RPC <{q.localname}> in namespace '{q.namespace}'"
                )
            session.counters.in_rpcs += 1
            self.stats.in_rpcs += 1
            if self.exec_check is not None:
                self.exec_check(session, q.namespace or "", q.localname)
            token = CURRENT_SESSION.set(session)
            try:
                result = handler(session, op)
            finally:
                CURRENT_SESSION.reset(token)
        except AgentError as err:
            return self._error_reply(session, rpc_attrs=attrs, error=err)
        except Exception as exc:
            failure: RpcError
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                # A full disk is the node's condition, not a bug: say so, and what failed.
                log.error("session %d: %s", session.id, exc)
                where = f" {exc.filename}" if exc.filename else ""
                failure = RpcError(
                    "resource-denied",
                    f"the agent's disk is full: cannot write{where}: {exc.strerror}",
                    ErrorType.APPLICATION,
                )
            else:
                log.exception("session %d: RPC failed unexpectedly", session.id)
                failure = internal_error(exc)
            return self._error_reply(session, rpc_attrs=attrs, error=failure)
        return self._reply(attrs, result)

    def _error_reply(self, session: S, *, rpc_attrs: dict[str, str], error: AgentError) -> bytes:
        if not rpc_attrs.get("message-id") or error.scope == Scope.MESSAGE:
            session.counters.in_bad_rpcs += 1
            self.stats.in_bad_rpcs += 1
        session.counters.out_rpc_errors += 1
        self.stats.out_rpc_errors += 1
        return error_reply(rpc_attrs, error)

    @staticmethod
    def _reply(attrs: dict[str, str], result: Reply) -> bytes:
        reply = reply_element(attrs)
        if result is None:
            etree.SubElement(reply, qn(NC, "ok"))
            return etree.tostring(reply)
        if isinstance(result, RawData):
            head = etree.tostring(reply).decode()
            assert head.endswith("/>")
            return (
                f"{head[:-2]}><{result.wrapper}>{result.xml}</{result.wrapper}></rpc-reply>"
            ).encode()
        for el in result:
            reply.append(el)
        return etree.tostring(reply)
