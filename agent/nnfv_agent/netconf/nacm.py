"""NETCONF access control (RFC 8341): rule lists compiled once, then checks per request.

The `/nacm` configuration lives in running like any other configuration. `Policy.from_xml`
compiles it once per distinct content (the enforcer caches it keyed on the XML of the running
snapshot's `nacm` top), so a request only walks a short tuple of rules. Reads never lock.

Data nodes are addressed as a tuple of `Step`s (namespace, name, list keys; nacm_rules.py,
with the compiled `Policy`), the same way for a reply element (lxml) and for a node of an
edit's diff (a libyang data path), so one evaluator serves read filtering and write checks.

The checks of RFC 8341 section 3.4:
- `may_exec` for protocol operations (3.4.4), `may_notify` for notifications (3.4.6),
- `data` for one data node and one access operation (3.4.5),
- `prune_for_read` drops what a user may not read from a reply, keeping ancestors of
  readable nodes as bare structure (and list keys), and stops descending as soon as the
  decision cannot change below a node (the usual case: one permit-all or read-all rule).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree

from ..datastore.schema import SchemaNode
from .errors import ErrorType, RpcError
from .nacm_rules import (
    DEFAULT_DENY_RPCS,
    NC_NS,
    Address,
    DataRuleIndex,
    Policy,
    Rule,
    Step,
    path_covers,
    path_may_cover_below,
)

# ---- the schema facts the checks need -----------------------------------------------------


@dataclass
class NacmSchema:
    """What access checks need from the YANG schema (built once from `datastore.schema`)."""

    root: SchemaNode
    modules: dict[str, str]  # namespace -> module name
    namespaces: dict[str, str]  # module name -> namespace
    # Schema paths ((namespace, name), ...) of nodes marked nacm:default-deny-all / -write.
    deny_all: frozenset[tuple[tuple[str, str], ...]] = frozenset()
    deny_write: frozenset[tuple[tuple[str, str], ...]] = frozenset()
    deny_all_rpcs: frozenset[tuple[str, str]] = DEFAULT_DENY_RPCS
    _below: dict[int, frozenset[str]] = field(default_factory=dict)

    def module_of(self, namespace: str) -> str:
        return self.modules.get(namespace, namespace)

    def flagged(self, address: Address, write: bool) -> bool:
        """default-deny-all (or, for writes, default-deny-write) on the node or an ancestor."""
        names = tuple((s.namespace, s.name) for s in address)
        for depth in range(1, len(names) + 1):
            prefix = names[:depth]
            if prefix in self.deny_all or (write and prefix in self.deny_write):
                return True
        return False

    def flagged_below(self, address: Address) -> bool:
        """A node strictly below `address` is marked default-deny-all."""
        names = tuple((s.namespace, s.name) for s in address)
        return any(len(p) > len(names) and p[: len(names)] == names for p in self.deny_all)

    def modules_below(self, node: SchemaNode | None) -> frozenset[str] | None:
        """Modules of the schema nodes under `node` (None: unknown node)."""
        if node is None:
            return None
        cached = self._below.get(id(node))
        if cached is None:
            found: set[str] = set()
            stack = list(node.children.values())
            while stack:
                child = stack.pop()
                found.add(child.module)
                stack.extend(child.children.values())
            cached = frozenset(found)
            self._below[id(node)] = cached
        return cached


def schema_facts(schema: object) -> NacmSchema:
    """NacmSchema of a `datastore.schema.Schema` (its index and the nacm extensions)."""
    from ..datastore.schema import Schema

    assert isinstance(schema, Schema)
    namespaces = dict(schema.namespaces)
    deny_all: set[tuple[tuple[str, str], ...]] = set()
    deny_write: set[tuple[tuple[str, str], ...]] = set()
    deny_rpcs: set[tuple[str, str]] = set(DEFAULT_DENY_RPCS)
    with schema.lock:
        for mod in schema.ctx:
            if not mod.implemented():
                continue
            for snode in mod.children():
                _collect_flags(snode, (), namespaces, deny_all, deny_write)
            for rpc in mod.children(types=(_rpc_type(),)):
                if _flag_of(rpc) == "all":
                    deny_rpcs.add((namespaces[mod.name()], rpc.name()))
    # libyang repeats an extension on every descendant: keep the outermost nodes only.
    deny_all = {p for p in deny_all if not any(p[:d] in deny_all for d in range(1, len(p)))}
    deny_write = {p for p in deny_write if not any(p[:d] in deny_write for d in range(1, len(p)))}
    return NacmSchema(
        root=schema.root,
        modules={ns: name for name, ns in namespaces.items()},
        namespaces=namespaces,
        deny_all=frozenset(deny_all),
        deny_write=frozenset(deny_write),
        deny_all_rpcs=frozenset(deny_rpcs),
    )


def _rpc_type() -> int:
    import libyang

    return int(libyang.SNode.RPC)


def _flag_of(snode: object) -> str | None:
    for ext in snode.extensions():  # type: ignore[attr-defined]
        if ext.module().name() == "ietf-netconf-acm":
            if ext.name() == "default-deny-all":
                return "all"
            if ext.name() == "default-deny-write":
                return "write"
    return None


def _collect_flags(
    snode: object,
    path: tuple[tuple[str, str], ...],
    namespaces: dict[str, str],
    deny_all: set[tuple[tuple[str, str], ...]],
    deny_write: set[tuple[tuple[str, str], ...]],
) -> None:
    keyword = snode.keyword()  # type: ignore[attr-defined]
    if keyword in ("choice", "case"):
        here = path
    elif keyword in ("container", "list", "leaf", "leaf-list"):
        ns = namespaces[snode.module().name()]  # type: ignore[attr-defined]
        here = (*path, (ns, snode.name()))  # type: ignore[attr-defined]
        flag = _flag_of(snode)
        if flag == "all":
            deny_all.add(here)
        elif flag == "write":
            deny_write.add(here)
    else:
        return
    if keyword in ("container", "list", "choice", "case"):
        for child in snode.children():  # type: ignore[attr-defined]
            _collect_flags(child, here, namespaces, deny_all, deny_write)


# ---- one user's access ----------------------------------------------------------------------


@dataclass
class Access:
    """What one session's user may do under one compiled policy."""

    user: str
    policy: Policy
    schema: NacmSchema
    rules: tuple[Rule, ...] = ()
    bypass: bool = False  # NACM off, or the recovery user
    # Decisions that depend on nothing but the rules, remembered (an Access lives as long as
    # its policy: the enforcer keeps one per user).
    _exec: dict[tuple[str, str], bool] = field(default_factory=dict, repr=False)
    _sees_all: bool | None = field(default=None, repr=False)
    _data_index: DataRuleIndex | None = field(default=None, repr=False)

    @classmethod
    def of(
        cls,
        user: str,
        policy: Policy,
        schema: NacmSchema,
        *,
        external_groups: Iterable[str] = (),
        recovery: bool = False,
    ) -> Access:
        if recovery or not policy.enabled:
            return cls(user, policy, schema, bypass=True)
        groups = policy.groups_of(user, external_groups)
        return cls(user, policy, schema, policy.rules_for(groups))

    # -- protocol operations and notifications (3.4.4, 3.4.6) --

    def may_exec(self, namespace: str, name: str) -> bool:
        known = self._exec.get((namespace, name))
        if known is None:
            known = self._exec[(namespace, name)] = self._may_exec(namespace, name)
        return known

    def _may_exec(self, namespace: str, name: str) -> bool:
        if self.bypass or (namespace, name) == (NC_NS, "close-session"):
            return True
        module = self.schema.module_of(namespace)
        for rule in self.rules:
            if rule.kind not in ("any", "rpc") or not rule.allows_op("exec"):
                continue
            if not rule.matches_module(module):
                continue
            if rule.kind == "rpc" and rule.target not in ("*", name):
                continue
            return rule.permit
        if (namespace, name) in self.schema.deny_all_rpcs:
            return False
        return self.policy.exec_default

    def may_notify(self, namespace: str, name: str) -> bool:
        if self.bypass:
            return True
        module = self.schema.module_of(namespace)
        for rule in self.rules:
            if rule.kind not in ("any", "notification") or not rule.allows_op("read"):
                continue
            if not rule.matches_module(module):
                continue
            if rule.kind == "notification" and rule.target not in ("*", name):
                continue
            return rule.permit
        return self.policy.read_default

    # -- data nodes (3.4.5) --

    def _first_match(self, address: Address, op: str) -> tuple[int, Rule | None]:
        module = self.schema.module_of(address[-1].namespace) if address else ""
        if self._data_index is None:
            self._data_index = DataRuleIndex(self.rules)
        for index in self._data_index.candidates(address):
            rule = self.rules[index]
            if not rule.allows_op(op):
                continue
            if not rule.matches_module(module):
                continue
            if rule.kind == "data" and not path_covers(rule.path or (), address):
                continue
            return index, rule
        return len(self.rules), None

    def _default(self, address: Address, op: str) -> bool:
        if self.schema.flagged(address, write=op != "read"):
            return False
        return self.policy.read_default if op == "read" else self.policy.write_default

    def data(self, address: Address, op: str) -> bool:
        """May the user perform `op` (read, create, update, delete) on this data node?"""
        if self.bypass:
            return True
        _index, rule = self._first_match(address, op)
        return rule.permit if rule is not None else self._default(address, op)

    def read_decision(self, address: Address, node: SchemaNode | None) -> tuple[bool, bool]:
        """(may read the node, the same holds for every node below it)."""
        if self.bypass:
            return True, True
        index, rule = self._first_match(address, "read")
        module = self.schema.module_of(address[-1].namespace) if address else ""
        below = self.schema.modules_below(node)
        # Whether a node of another module (an augment) may sit below: rules naming a
        # module could then decide differently there.
        foreign = True if below is None or not address else bool(below - {module})
        for earlier in self.rules[:index]:
            if earlier.kind not in ("any", "data") or not earlier.allows_op("read"):
                continue
            if earlier.kind == "data" and path_may_cover_below(earlier.path or (), address):
                return self._verdict(address, rule), False
            if earlier.module != "*" and foreign:
                return self._verdict(address, rule), False  # may match a node of another module
        if rule is None:
            flagged_here = self.schema.flagged(address, write=False)
            return self._default(address, "read"), flagged_here or not (
                self.schema.flagged_below(address) or node is None
            )
        if rule.module != "*" and foreign:
            return rule.permit, False
        return rule.permit, True

    def _verdict(self, address: Address, rule: Rule | None) -> bool:
        return rule.permit if rule is not None else self._default(address, "read")

    def sees_everything(self) -> bool:
        """Nothing of any reply would be pruned (the reply can be sent as it is)."""
        if self._sees_all is None:
            self._sees_all = self.read_decision((), self.schema.root) == (True, True)
        return self._sees_all


# ---- reads: one function every reply goes through ---------------------------------------------


def element_step(el: etree._Element, node: SchemaNode | None) -> Step:
    q = etree.QName(el)
    keys: tuple[tuple[str, str], ...] = ()
    if node is not None and node.kind == "list" and node.keys:
        found = []
        for key in node.keys:
            key_el = el.find(f"{{{node.namespace}}}{key}")
            found.append((key, "" if key_el is None else (key_el.text or "")))
        keys = tuple(sorted(found))
    elif node is not None and node.kind == "leaf-list":
        keys = ((".", el.text or ""),)
    return Step(q.namespace or "", q.localname, keys)


def prune_for_read(access: Access, elements: list[etree._Element]) -> list[etree._Element]:
    """The top-level reply elements with every node the user may not read removed.

    A node the user may not read stays only as the structure that leads to readable nodes
    below it (with its list keys); a node with nothing readable disappears whole."""
    if access.bypass:
        return elements
    out = []
    for el in elements:
        if not isinstance(el.tag, str):
            continue
        q = etree.QName(el)
        node = access.schema.root.child(q.namespace, q.localname)
        if _prune(access, el, (), node):
            out.append(el)
    return out


def _prune(access: Access, el: etree._Element, parent: Address, node: SchemaNode | None) -> bool:
    """Prune `el` in place; False when nothing of it may be read."""
    address = (*parent, element_step(el, node))
    permitted, uniform = access.read_decision(address, node)
    if uniform:
        return permitted
    kept_child = False
    for sub in list(el):
        if not isinstance(sub.tag, str):
            continue
        q = etree.QName(sub)
        sub_node = node.child(q.namespace, q.localname) if node is not None else None
        if _prune(access, sub, address, sub_node):
            kept_child = True
        else:
            el.remove(sub)
    if permitted:
        return True
    if not kept_child:
        return False
    # Denied here but something below is readable: keep the list keys as structure.
    if node is not None and node.kind == "list":
        for key_name, value in reversed(address[-1].keys):
            if el.find(f"{{{node.namespace}}}{key_name}") is None:
                key_el = etree.Element(f"{{{node.namespace}}}{key_name}")
                key_el.text = value
                el.insert(0, key_el)
    return True


# ---- errors ----------------------------------------------------------------------------------


def exec_denied(namespace: str, name: str, prefix: str) -> RpcError:
    """RFC 8341 3.4.4: access-denied with the protocol operation as error-path."""
    nsmap = {"nc": NC_NS}
    if namespace != NC_NS:
        nsmap[prefix] = namespace
    op_prefix = "nc" if namespace == NC_NS else prefix
    return RpcError(
        "access-denied",
        f"access denied: you may not run the protocol operation <{name}>",
        ErrorType.PROTOCOL,
        path=f"/nc:rpc/{op_prefix}:{name}",
        path_nsmap=nsmap,
    )


def data_denied(op: str, path: str, nsmap: dict[str, str]) -> RpcError:
    """RFC 8341 3.4.5: access-denied with the data node as error-path."""
    return RpcError(
        "access-denied",
        f"access denied: you may not {op} {path}",
        ErrorType.APPLICATION,
        path=path,
        path_nsmap=nsmap,
    )
