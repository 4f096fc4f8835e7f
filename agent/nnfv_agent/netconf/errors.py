"""The single place where failures (the `AgentError` family) become RFC 6241 <rpc-error>s."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from lxml import etree

from ..errors import AgentError, AgentErrors, Kind, Scope
from ..xmlutil import NC, qn, reply_element


class ErrorType(StrEnum):
    TRANSPORT = "transport"
    RPC = "rpc"
    PROTOCOL = "protocol"
    APPLICATION = "application"


_TYPE_OF_SCOPE = {
    Scope.DATA: ErrorType.APPLICATION,
    Scope.REQUEST: ErrorType.PROTOCOL,
    Scope.MESSAGE: ErrorType.RPC,
    Scope.TRANSPORT: ErrorType.TRANSPORT,
}
_SCOPE_OF_TYPE = {t: s for s, t in _TYPE_OF_SCOPE.items()}


class RpcError(AgentError):
    """A failure the protocol layer itself finds, spelled in NETCONF's terms."""

    def __init__(
        self,
        tag: str,
        message: str,
        type: ErrorType = ErrorType.APPLICATION,
        *,
        path: str | None = None,
        path_nsmap: dict[str, str] | None = None,
        app_tag: str | None = None,
        info: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            message,
            kind=Kind(tag),
            scope=_SCOPE_OF_TYPE[ErrorType(type)],
            path=path,
            path_nsmap=path_nsmap,
            app_tag=app_tag,
            info=info,
        )

    def __str__(self) -> str:
        return self.describe()

    @property
    def tag(self) -> str:
        return self.kind.value

    @property
    def type(self) -> ErrorType:
        return _TYPE_OF_SCOPE[self.scope]

    def to_xml(self) -> etree._Element:
        return rpc_error_element(self)


RpcErrors = AgentErrors


def rpc_error_element(error: AgentError) -> etree._Element:
    """One <rpc-error> for one failure of the family."""
    err = etree.Element(qn(NC, "rpc-error"), nsmap={None: NC})
    etree.SubElement(err, qn(NC, "error-type")).text = _TYPE_OF_SCOPE[error.scope].value
    etree.SubElement(err, qn(NC, "error-tag")).text = error.kind.value
    etree.SubElement(err, qn(NC, "error-severity")).text = "error"
    if error.app_tag:
        etree.SubElement(err, qn(NC, "error-app-tag")).text = error.app_tag
    if error.path:
        path_el = etree.SubElement(err, qn(NC, "error-path"), nsmap=error.path_nsmap or None)
        path_el.text = error.path
    msg = etree.SubElement(err, qn(NC, "error-message"))
    msg.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    msg.text = error.message
    if error.info:
        info = etree.SubElement(err, qn(NC, "error-info"))
        for key, value in error.info.items():
            etree.SubElement(info, qn(NC, key)).text = value
    return err


def rpc_error_elements(exc: AgentError) -> list[etree._Element]:
    """The <rpc-error>s of a failure: one each for a bundle of several."""
    if isinstance(exc, AgentErrors):
        return [rpc_error_element(e) for e in exc.errors]
    return [rpc_error_element(exc)]


def error_reply(attrs: dict[str, str] | None, error: AgentError) -> bytes:
    """The whole <rpc-reply> refusing an RPC (every error reply is built here)."""
    errors = error.errors if isinstance(error, AgentErrors) else [error]
    prefixes = {k: v for e in errors for k, v in (e.path_nsmap or {}).items() if k}
    reply = reply_element(attrs or {}, prefixes)
    reply.extend(rpc_error_elements(error))
    return etree.tostring(reply)


def internal_error(exc: BaseException) -> RpcError:
    """What a client is told of a failure outside the family: a bug, reported as one."""
    return RpcError(
        "operation-failed", f"internal error: {type(exc).__name__}: {exc}", ErrorType.APPLICATION
    )


def operation_not_supported(what: str) -> RpcError:
    return RpcError("operation-not-supported", f"{what} is not supported", ErrorType.PROTOCOL)


def missing_element(name: str, where: str, type_: ErrorType = ErrorType.PROTOCOL) -> RpcError:
    return RpcError(
        "missing-element", f"<{name}> is required in <{where}>", type_, info={"bad-element": name}
    )


def bad_element(name: str, why: str, type_: ErrorType = ErrorType.PROTOCOL) -> RpcError:
    return RpcError("bad-element", why, type_, info={"bad-element": name})


def invalid_value(message: str, type_: ErrorType = ErrorType.PROTOCOL, **kw: Any) -> RpcError:
    return RpcError("invalid-value", message, type_, **kw)
