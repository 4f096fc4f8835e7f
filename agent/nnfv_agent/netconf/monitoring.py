"""RFC 6022 netconf-state and get-schema, and the RFC 8525 YANG library."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from lxml import etree

from ..xmlutil import NCM, YANGLIB, child_text, qn
from .dispatch import Reply
from .errors import ErrorType, RpcError, missing_element
from .session import Session
from .yanglib import with_datastores

if TYPE_CHECKING:
    from ..datastore.schema import Schema
    from ..datastore.store import Datastores
    from .dispatch import Dispatcher
    from .interfaces import SessionTable


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class Monitoring:
    def __init__(
        self,
        dispatcher: Dispatcher[Session],
        *,
        schema: Schema,
        stores: Datastores,
        sessions: SessionTable,
        capabilities: Callable[[], list[str]],
    ) -> None:
        self.dispatcher = dispatcher
        self.schema = schema
        self.stores = stores
        self.sessions = sessions
        self.capabilities = capabilities
        dispatcher.register(NCM, "get-schema", self.get_schema)
        self._config_modules = schema.config_modules()
        self._imports = schema.module_imports()

    def netconf_state(self) -> etree._Element:
        root = etree.Element(qn(NCM, "netconf-state"), nsmap={None: NCM})
        caps = etree.SubElement(root, qn(NCM, "capabilities"))
        for cap in self.capabilities():
            etree.SubElement(caps, qn(NCM, "capability")).text = cap
        stores = etree.SubElement(root, qn(NCM, "datastores"))
        for name in ("running", "candidate", "startup"):
            ds = etree.SubElement(stores, qn(NCM, "datastore"))
            etree.SubElement(ds, qn(NCM, "name")).text = name
            holder = self.stores.locks.holder(name)
            if holder is not None:
                locks = etree.SubElement(ds, qn(NCM, "locks"))
                glock = etree.SubElement(locks, qn(NCM, "global-lock"))
                etree.SubElement(glock, qn(NCM, "locked-by-session")).text = str(holder)
                etree.SubElement(glock, qn(NCM, "locked-time")).text = _iso(
                    self.stores.lock_times[name]
                )
        schemas = etree.SubElement(root, qn(NCM, "schemas"))
        for name, revision, namespace in self.schema.modules():
            sc = etree.SubElement(schemas, qn(NCM, "schema"))
            etree.SubElement(sc, qn(NCM, "identifier")).text = name
            etree.SubElement(sc, qn(NCM, "version")).text = revision
            etree.SubElement(sc, qn(NCM, "format")).text = "yang"
            etree.SubElement(sc, qn(NCM, "namespace")).text = namespace
            etree.SubElement(sc, qn(NCM, "location")).text = "NETCONF"
        sessions = etree.SubElement(root, qn(NCM, "sessions"))
        for s in self.sessions.sessions_snapshot():
            se = etree.SubElement(sessions, qn(NCM, "session"))
            for tag, value in (
                ("session-id", s.id),
                ("transport", "netconf-ssh"),
                ("username", s.username),
                ("source-host", s.source_host),
                ("login-time", _iso(s.login_time)),
                ("in-rpcs", s.counters.in_rpcs),
                ("in-bad-rpcs", s.counters.in_bad_rpcs),
                ("out-rpc-errors", s.counters.out_rpc_errors),
                ("out-notifications", s.counters.out_notifications),
            ):
                etree.SubElement(se, qn(NCM, tag)).text = str(value)
        st = self.dispatcher.stats
        stats = etree.SubElement(root, qn(NCM, "statistics"))
        for tag, value in (
            ("netconf-start-time", _iso(st.start_time)),
            ("in-bad-hellos", st.in_bad_hellos),
            ("in-sessions", st.in_sessions),
            ("dropped-sessions", st.dropped_sessions),
            ("in-rpcs", st.in_rpcs),
            ("in-bad-rpcs", st.in_bad_rpcs),
            ("out-rpc-errors", st.out_rpc_errors),
            ("out-notifications", st.out_notifications),
        ):
            etree.SubElement(stats, qn(NCM, tag)).text = str(value)
        return root

    def yang_library(self) -> list[etree._Element]:
        xml = self.schema.yang_library_xml()
        data = list(etree.fromstring(f"<data>{xml}</data>"))
        for top in data:
            if top.tag == qn(YANGLIB, "yang-library"):
                with_datastores(top, self._config_modules, self._imports)
        return data

    def get_schema(self, session: Session, op: etree._Element) -> Reply:
        identifier = child_text(op, "identifier", NCM)
        if not identifier:
            raise missing_element("identifier", "get-schema", ErrorType.PROTOCOL)
        version = child_text(op, "version", NCM)
        fmt = child_text(op, "format", NCM) or "yang"
        fmt = fmt.split(":")[-1]
        if fmt not in ("yang", "yin"):
            raise RpcError(
                "invalid-value",
                f"schema format '{fmt}' is not available",
                ErrorType.APPLICATION,
                info={"bad-element": "format"},
            )
        text = self.schema.module_text(identifier, version or None, fmt)
        if text is None:
            raise RpcError(
                "invalid-value",
                f"no schema '{identifier}'" + (f" revision {version}" if version else ""),
                ErrorType.APPLICATION,
                info={"bad-element": "identifier"},
            )
        data = etree.Element(qn(NCM, "data"), nsmap={None: NCM})
        data.text = text
        return [data]
