"""The single place where failures become RFC 6241 <rpc-error> elements."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lxml import etree

from .xml import NC, qn


class ErrorType(StrEnum):
    TRANSPORT = "transport"
    RPC = "rpc"
    PROTOCOL = "protocol"
    APPLICATION = "application"


@dataclass
class RpcError(Exception):
    """One <rpc-error>. Raise it anywhere below the dispatcher to refuse an RPC."""

    tag: str
    message: str
    type: ErrorType = ErrorType.APPLICATION
    path: str | None = None
    path_nsmap: dict[str, str] = field(default_factory=dict)
    app_tag: str | None = None
    info: dict[str, str] = field(default_factory=dict)
    severity: str = "error"

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.tag}{where}: {self.message}"

    def to_xml(self) -> etree._Element:
        err = etree.Element(qn(NC, "rpc-error"), nsmap={None: NC})
        etree.SubElement(err, qn(NC, "error-type")).text = self.type.value
        etree.SubElement(err, qn(NC, "error-tag")).text = self.tag
        etree.SubElement(err, qn(NC, "error-severity")).text = self.severity
        if self.app_tag:
            etree.SubElement(err, qn(NC, "error-app-tag")).text = self.app_tag
        if self.path:
            path_el = etree.SubElement(err, qn(NC, "error-path"), nsmap=self.path_nsmap or None)
            path_el.text = self.path
        msg = etree.SubElement(err, qn(NC, "error-message"))
        msg.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        msg.text = self.message
        if self.info:
            info = etree.SubElement(err, qn(NC, "error-info"))
            for key, value in self.info.items():
                etree.SubElement(info, qn(NC, key)).text = value
        return err


class RpcErrors(Exception):
    """Several <rpc-error>s in one reply (for example every validation failure)."""

    def __init__(self, errors: list[RpcError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


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
