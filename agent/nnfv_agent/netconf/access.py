"""NACM enforcement for the agent: the compiled policy of running, and the hooks that apply it.

- `check_exec`: before every RPC (the dispatcher calls it).
- `access(session)`: a session's `Access`, for `prune_for_read` on every reply.
- `write_guard(session)`: checks every node an edit, copy, delete or commit changes, before
  anything is stored (the datastores call it under their writer lock: CPU work on the edit).
- `visible_notification`: what of one event a subscriber may see.

The policy is compiled once per `/nacm` content and cached on it; the cache is one tuple
swapped atomically, so reads take no lock. While running holds no `/nacm`, the shipped
default rules (`default_nacm_xml`, also yang/examples/nacm-default.xml) are in force; once an
operator writes `/nacm`, that configuration alone counts (docs/nacm.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import libyang
from lxml import etree

from ..datastore.snapshot import SG, Snapshot, join
from .errors import RpcError
from .nacm import Access, data_denied, exec_denied, schema_facts
from .nacm_rules import NACM_NS, BadPath, Policy, Step, parse_data_path, parse_instance_path

if TYPE_CHECKING:
    from ..config import AgentConfig
    from ..datastore.schema import Schema
    from ..datastore.store import WriteGuard
    from .session import Session

log = logging.getLogger(__name__)

NCN = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"
NCEVENT = "urn:ietf:params:xml:ns:netmod:notification"
# Notifications about one graph (their <graph> leaf names it): readable with the graph only.
GRAPH_EVENTS = frozenset({(SG, "nf-state-change"), (SG, "graph-change")})

# The rules in force while running has no /nacm (a new node).
DEFAULT_NACM = f"""<nacm xmlns="{NACM_NS}">
  <enable-nacm>true</enable-nacm>
  <read-default>permit</read-default>
  <write-default>deny</write-default>
  <exec-default>permit</exec-default>
  <enable-external-groups>true</enable-external-groups>
  <groups>
    <group><name>admin</name></group>
    <group><name>monitor</name></group>
  </groups>
  <rule-list>
    <name>admin</name>
    <group>admin</group>
    <rule>
      <name>permit-all</name>
      <module-name>*</module-name>
      <access-operations>*</access-operations>
      <action>permit</action>
      <comment>Administrators may read, write and run everything, NACM included.</comment>
    </rule>
  </rule-list>
  <rule-list>
    <name>monitor</name>
    <group>monitor</group>
{{monitor_denials}}
    <rule>
      <name>read-all</name>
      <module-name>*</module-name>
      <access-operations>read</access-operations>
      <action>permit</action>
      <comment>Monitoring and inventory may read all configuration and state.</comment>
    </rule>
    <rule>
      <name>write-nothing</name>
      <module-name>*</module-name>
      <path>/</path>
      <access-operations>create update delete</access-operations>
      <action>deny</action>
      <comment>... and change nothing.</comment>
    </rule>
  </rule-list>
</nacm>"""
# The protocol operations that change a datastore or another session: refused to monitors.
MONITOR_DENIED_RPCS = (
    "edit-config",
    "copy-config",
    "delete-config",
    "commit",
    "discard-changes",
    "cancel-commit",
    "lock",
    "kill-session",
)


_MONITOR_DENIAL = """    <rule>
      <name>deny-{name}</name>
      <module-name>ietf-netconf</module-name>
      <rpc-name>{name}</rpc-name>
      <access-operations>exec</access-operations>
      <action>deny</action>
    </rule>"""


def _default_nacm_xml() -> str:
    denials = "\n".join(_MONITOR_DENIAL.format(name=name) for name in MONITOR_DENIED_RPCS)
    return DEFAULT_NACM.replace("{monitor_denials}", denials)


_DEFAULT_XML = _default_nacm_xml()


def default_nacm_xml() -> str:
    return _DEFAULT_XML


class AccessControl:
    def __init__(
        self, schema: Schema, config: AgentConfig, running: Callable[[], Snapshot]
    ) -> None:
        self.schema = schema
        self.config = config
        self.facts = schema_facts(schema)
        self._running = running
        self._compiled: tuple[str | None, Policy] = (None, Policy())
        # One Access per user name for the current policy (replaced with the policy).
        self._accesses: tuple[Policy | None, dict[str, Access]] = (None, {})
        self._counters_lock = threading.Lock()
        self.denied_operations = 0
        self.denied_data_writes = 0
        self.denied_notifications = 0

    # ---- the policy ---------------------------------------------------------------------

    def policy(self) -> Policy:
        """The compiled /nacm of running (compiled again only when it changed)."""
        xml = self._running().tops.get("nacm") or default_nacm_xml()
        key, policy = self._compiled
        if xml is key or xml == key:
            return policy
        try:
            policy = Policy.from_xml(xml)
        except BadPath as exc:  # libyang validated it; an unreadable path denies, not permits
            log.error("NACM rules not usable (%s): every request is denied", exc)
            policy = Policy(read_default=False, write_default=False, exec_default=False)
        self._compiled = (xml, policy)
        return policy

    def access(self, session: Session) -> Access:
        policy = self.policy()
        owner, accesses = self._accesses
        if owner is not policy:
            accesses = {}
            self._accesses = (policy, accesses)
        found = accesses.get(session.username)
        if found is None:
            user = self.config.user(session.username)
            found = Access.of(
                session.username,
                policy,
                self.facts,
                external_groups=user.groups if user else (),
                recovery=user.recovery if user else False,
            )
            accesses[session.username] = found
        return found

    def _count(self, name: str) -> None:
        with self._counters_lock:
            setattr(self, name, getattr(self, name) + 1)

    # ---- protocol operations ------------------------------------------------------------

    def check_exec(self, session: Session, namespace: str, name: str) -> None:
        if self.access(session).may_exec(namespace, name):
            return
        self._count("denied_operations")
        module = self.facts.module_of(namespace)
        prefix = self.schema.prefixes.get(module, "x")
        log.info("session %d: %s denied <%s>", session.id, session.username, name)
        raise exec_denied(namespace, name, prefix)

    # ---- writes -------------------------------------------------------------------------

    def write_guard(self, session: Session) -> WriteGuard | None:
        access = self.access(session)
        if access.bypass:
            return None

        def guard(old: Snapshot, new: Snapshot) -> None:
            try:
                self.check_write(access, old, new)
            except RpcError:
                self._count("denied_data_writes")
                log.info("session %d: %s denied a write", session.id, session.username)
                raise

        return guard

    def check_write(self, access: Access, old: Snapshot, new: Snapshot) -> None:
        """Every node `old` -> `new` creates, changes or deletes must be allowed to the user.

        Only the graphs and top-level nodes that differ are parsed and diffed."""
        names = {
            n
            for n in old.graphs.keys() | new.graphs.keys()
            if old.graphs.get(n) != new.graphs.get(n)
        }
        tops = {n for n in old.tops.keys() | new.tops.keys() if old.tops.get(n) != new.tops.get(n)}
        if not names and not tops:
            return
        old_tree = self._parse(_part(old, names, tops))
        new_tree = self._parse(_part(new, names, tops))
        diff = None
        try:
            changed: list[tuple[libyang.DNode, str | None]]
            with self.schema.lock:
                if old_tree is None or new_tree is None:
                    changed = [
                        (node, "create" if old_tree is None else "delete")
                        for tree in (new_tree if old_tree is None else old_tree,)
                        if tree is not None
                        for node in tree.first_sibling().siblings()
                    ]
                else:
                    diff = old_tree.first_sibling().diff(new_tree.first_sibling())
                    changed = [(n, None) for n in diff.first_sibling().siblings()] if diff else []
                denied = self._first_denied(access, changed)
        finally:
            with self.schema.lock:
                for tree in (old_tree, new_tree, diff):
                    if tree is not None:
                        tree.first_sibling().free()
        if denied is not None:
            op, ly_path = denied
            path, nsmap = self.schema.xpath(ly_path)
            raise data_denied(op, path, nsmap)

    def _parse(self, xml: str) -> libyang.DNode | None:
        return self.schema.parse(xml, validate=False) if xml else None

    def _first_denied(
        self, access: Access, nodes: list[tuple[libyang.DNode, str | None]]
    ) -> tuple[str, str] | None:
        """The first (operation, data path) the user may not perform, walking the diff."""
        stack = list(reversed(nodes))
        while stack:
            node, inherited = stack.pop()
            op = inherited if inherited is not None else (node.get_meta("operation") or "none")
            access_op = {"create": "create", "delete": "delete", "replace": "update"}.get(op)
            snode = node.schema()
            structural = isinstance(snode, libyang.SContainer) and snode.presence() is None
            if access_op is not None and not structural:
                address = parse_data_path(node.path(), self.facts.namespaces)
                if not access.data(address, access_op):
                    return access_op, node.path()
            if isinstance(node, libyang.DContainer):
                child_op = op if op in ("create", "delete") else None
                stack.extend((c, child_op) for c in reversed(list(node.children())))
        return None

    # ---- notifications ------------------------------------------------------------------

    def visible_notification(self, session: Session, content: str) -> str | None:
        """The event as this subscriber may see it, or None to drop it (RFC 8341 3.4.6)."""
        access = self.access(session)
        if access.bypass:
            return content
        root = etree.fromstring(content.encode())
        q = etree.QName(root)
        namespace = q.namespace or ""
        if namespace == NCEVENT:  # replayComplete, notificationComplete
            return content
        if not access.may_notify(namespace, q.localname):
            self._count("denied_notifications")
            return None
        if (namespace, q.localname) in GRAPH_EVENTS:
            graph = root.findtext(f"{{{SG}}}graph")
            if graph is not None and not access.data(_graph_address(graph), "read"):
                self._count("denied_notifications")
                return None
            return content
        if (namespace, q.localname) == (NCN, "netconf-config-change"):
            return self._config_change(access, root)
        return content

    def _config_change(self, access: Access, root: etree._Element) -> str | None:
        edits = root.findall(f"{{{NCN}}}edit")
        for edit in edits:
            target = edit.find(f"{{{NCN}}}target")
            if target is None or not target.text:
                continue
            try:
                address = parse_instance_path(target.text, dict(target.nsmap))
            except BadPath:
                root.remove(edit)
                continue
            if not access.data(address, "read"):
                root.remove(edit)
        if edits and not root.findall(f"{{{NCN}}}edit"):
            self._count("denied_notifications")
            return None
        return etree.tostring(root, encoding="unicode")

    # ---- state --------------------------------------------------------------------------

    def with_counters(self, xml: str) -> str:
        """`xml` (running as libyang prints it) with the config-false counters of /nacm
        (RFC 8341) inside its <nacm>, or a <nacm> holding only them."""
        counters = (
            f"<denied-operations>{self.denied_operations}</denied-operations>"
            f"<denied-data-writes>{self.denied_data_writes}</denied-data-writes>"
            f"<denied-notifications>{self.denied_notifications}</denied-notifications>"
        )
        head = f'<nacm xmlns="{NACM_NS}">'
        if head in xml:
            return xml.replace(head, head + counters, 1)
        return xml + head + counters + "</nacm>"


def _graph_address(name: str) -> tuple[Step, ...]:
    return (Step(SG, "graphs"), Step(SG, "graph", (("name", name),)))


def _part(snapshot: Snapshot, names: set[str], tops: set[str]) -> str:
    """The named graphs and tops of a snapshot; the /graphs container whenever it has graphs
    (so that removing some graphs does not read as removing the container)."""
    graphs = {n: snapshot.graphs[n] for n in names if n in snapshot.graphs}
    top_xml = {n: snapshot.tops[n] for n in tops if n in snapshot.tops}
    xml = join(graphs, top_xml)
    if snapshot.graphs and not graphs:
        xml = f'<graphs xmlns="{SG}"></graphs>' + xml
    return xml
