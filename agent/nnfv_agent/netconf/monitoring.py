"""RFC 6022 netconf-state and get-schema, and the RFC 8525 YANG library."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from lxml import etree

from ..datastore.schema import module_namespace, module_revision
from .dispatch import Reply
from .errors import ErrorType, RpcError, missing_element
from .session import Session
from .xml import NCM, YANGLIB, child_text, qn
from .yanglib import with_datastores

if TYPE_CHECKING:
    from ..server import Agent


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class Monitoring:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        agent.dispatcher.register(NCM, "get-schema", self.get_schema)
        self._config_modules = agent.schema.config_modules()
        self._imports = agent.schema.module_imports()

    def schemas(self) -> list[tuple[str, str, str]]:
        """(module, revision, namespace) of every implemented or imported module."""
        out = []
        with self.agent.schema.lock:
            for mod in self.agent.schema.ctx:
                out.append((mod.name(), module_revision(mod), module_namespace(mod)))
        return out

    def netconf_state(self) -> etree._Element:
        agent = self.agent
        root = etree.Element(qn(NCM, "netconf-state"), nsmap={None: NCM})
        caps = etree.SubElement(root, qn(NCM, "capabilities"))
        for cap in agent.capabilities():
            etree.SubElement(caps, qn(NCM, "capability")).text = cap
        stores = etree.SubElement(root, qn(NCM, "datastores"))
        for name in ("running", "candidate", "startup"):
            ds = etree.SubElement(stores, qn(NCM, "datastore"))
            etree.SubElement(ds, qn(NCM, "name")).text = name
            holder = agent.stores.locks.holder(name)
            if holder is not None:
                locks = etree.SubElement(ds, qn(NCM, "locks"))
                glock = etree.SubElement(locks, qn(NCM, "global-lock"))
                etree.SubElement(glock, qn(NCM, "locked-by-session")).text = str(holder)
                etree.SubElement(glock, qn(NCM, "locked-time")).text = _iso(
                    agent.stores.lock_times[name]
                )
        schemas = etree.SubElement(root, qn(NCM, "schemas"))
        for name, revision, namespace in self.schemas():
            sc = etree.SubElement(schemas, qn(NCM, "schema"))
            etree.SubElement(sc, qn(NCM, "identifier")).text = name
            etree.SubElement(sc, qn(NCM, "version")).text = revision
            etree.SubElement(sc, qn(NCM, "format")).text = "yang"
            etree.SubElement(sc, qn(NCM, "namespace")).text = namespace
            etree.SubElement(sc, qn(NCM, "location")).text = "NETCONF"
        sessions = etree.SubElement(root, qn(NCM, "sessions"))
        for s in agent.sessions_snapshot():
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
        st = agent.dispatcher.stats
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
        with self.agent.schema.lock:
            tree = self.agent.schema.ctx.get_yanglib_data("%u")
            try:
                xml = tree.print_mem("xml", with_siblings=True, pretty=False)
            finally:
                tree.free()
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
        with self.agent.schema.lock:
            found = None
            for mod in self.agent.schema.ctx:
                if mod.name() == identifier and (not version or module_revision(mod) == version):
                    found = mod
                    break
            if found is None:
                raise RpcError(
                    "invalid-value",
                    f"no schema '{identifier}'" + (f" revision {version}" if version else ""),
                    ErrorType.APPLICATION,
                    info={"bad-element": "identifier"},
                )
            text = found.print_mem(fmt)
        data = etree.Element(qn(NCM, "data"), nsmap={None: NCM})
        data.text = text
        return [data]
