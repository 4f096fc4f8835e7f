"""NACM (RFC 8341) rules as data: the `/nacm` configuration compiled into a `Policy`, and the
paths of its data rules parsed into `Step` tuples, the one address form of a data node that the
checks in nacm.py compare against (the same for a reply element and for a libyang data path).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import combinations

from lxml import etree

NACM_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-acm"
NC_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
OPERATIONS = frozenset({"create", "read", "update", "delete", "exec"})

# RFC 8341 3.2.x / 3.4.4 step 9: these two protocol operations are denied unless a rule
# explicitly permits them (the 2011 ietf-netconf module predates the extension).
DEFAULT_DENY_RPCS = frozenset({(NC_NS, "kill-session"), (NC_NS, "delete-config")})


@dataclass(frozen=True)
class Step:
    """One node of a data path: its namespace, name, and key values for a list entry
    (`(".", value)` for a leaf-list entry)."""

    namespace: str
    name: str
    keys: tuple[tuple[str, str], ...] = ()


Address = tuple[Step, ...]


@dataclass(frozen=True)
class Rule:
    name: str
    module: str  # "*" or a module name
    kind: str  # "any" (no rule-type), "rpc", "notification" or "data"
    target: str | None  # rpc-name or notification-name ("*" allowed)
    path: Address | None  # data rules; () is "/" (everything)
    operations: frozenset[str]  # {"*"} or a subset of OPERATIONS
    permit: bool

    def allows_op(self, op: str) -> bool:
        return "*" in self.operations or op in self.operations

    def matches_module(self, module: str) -> bool:
        return self.module == "*" or self.module == module


@dataclass(frozen=True)
class RuleList:
    name: str
    groups: frozenset[str]
    rules: tuple[Rule, ...]


@dataclass
class Policy:
    """The compiled `/nacm` configuration (RFC 8341 defaults when there is none)."""

    enabled: bool = True
    read_default: bool = True
    write_default: bool = False
    exec_default: bool = True
    external_groups: bool = True
    members: dict[str, frozenset[str]] = field(default_factory=dict)  # group -> user names
    rule_lists: tuple[RuleList, ...] = ()
    # groups (frozenset) -> the rules that apply to them, in order; filled on first use.
    _by_groups: dict[frozenset[str], tuple[Rule, ...]] = field(default_factory=dict)

    @classmethod
    def from_xml(cls, xml: str | None) -> Policy:
        """Compile the canonical XML of `/nacm` (as running prints it)."""
        if not xml:
            return cls()
        root = etree.fromstring(xml.encode())
        policy = cls(
            enabled=_text(root, "enable-nacm", "true") == "true",
            read_default=_text(root, "read-default", "permit") == "permit",
            write_default=_text(root, "write-default", "deny") == "permit",
            exec_default=_text(root, "exec-default", "permit") == "permit",
            external_groups=_text(root, "enable-external-groups", "true") == "true",
        )
        groups = root.find(f"{{{NACM_NS}}}groups")
        if groups is not None:
            for group in groups.findall(f"{{{NACM_NS}}}group"):
                users = frozenset(u.text or "" for u in group.findall(f"{{{NACM_NS}}}user-name"))
                policy.members[_text(group, "name", "")] = users
        lists = []
        for rule_list in root.findall(f"{{{NACM_NS}}}rule-list"):
            rules = tuple(_rule(r) for r in rule_list.findall(f"{{{NACM_NS}}}rule"))
            names = frozenset(g.text or "" for g in rule_list.findall(f"{{{NACM_NS}}}group"))
            lists.append(RuleList(_text(rule_list, "name", ""), names, rules))
        policy.rule_lists = tuple(lists)
        return policy

    def groups_of(self, user: str, external: Iterable[str] = ()) -> frozenset[str]:
        """RFC 8341 3.4.4 step 4: the configured groups of `user`, and the groups the
        transport (agent.toml) gives it when enable-external-groups is true."""
        mine = {name for name, users in self.members.items() if user in users}
        if self.external_groups:
            mine.update(external)
        return frozenset(mine)

    def rules_for(self, groups: frozenset[str]) -> tuple[Rule, ...]:
        """The rules of every rule list that names one of `groups` (or "*"), in order."""
        cached = self._by_groups.get(groups)
        if cached is None:
            cached = tuple(
                rule
                for rule_list in self.rule_lists
                if groups and ("*" in rule_list.groups or rule_list.groups & groups)
                for rule in rule_list.rules
            )
            self._by_groups[groups] = cached  # a race computes it twice, harmlessly
        return cached


def _text(el: etree._Element, name: str, default: str) -> str:
    found = el.find(f"{{{NACM_NS}}}{name}")
    return default if found is None or found.text is None else found.text


def _rule(el: etree._Element) -> Rule:
    ops = _text(el, "access-operations", "*").split()
    kind, target, path = "any", None, None
    rpc = el.find(f"{{{NACM_NS}}}rpc-name")
    notification = el.find(f"{{{NACM_NS}}}notification-name")
    path_el = el.find(f"{{{NACM_NS}}}path")
    if rpc is not None:
        kind, target = "rpc", rpc.text or ""
    elif notification is not None:
        kind, target = "notification", notification.text or ""
    elif path_el is not None:
        kind = "data"
        path = parse_instance_path(path_el.text or "/", dict(path_el.nsmap))
    return Rule(
        name=_text(el, "name", ""),
        module=_text(el, "module-name", "*"),
        kind=kind,
        target=target,
        path=path,
        operations=frozenset(ops or ["*"]),
        permit=_text(el, "action", "deny") == "permit",
    )


# ---- paths --------------------------------------------------------------------------------

_NAME = r"[A-Za-z_][\w.-]*"
_STEP_HEAD = re.compile(rf"/(?:({_NAME}):)?({_NAME})")
_PREDICATE = re.compile(
    rf"\[\s*(?:(?:({_NAME}):)?({_NAME})|(\.))\s*=\s*(?:'([^']*)'|\"([^\"]*)\")\s*\]"
)


class BadPath(ValueError):
    pass


def _steps(path: str, namespace_of: Callable[[str | None, str | None], str]) -> Address:
    """Parse `/p:a/p:b[p:k='v']...`; `namespace_of(prefix, current)` resolves a prefix."""
    if path.strip() == "/":
        return ()
    out: list[Step] = []
    pos, current = 0, None
    text = path.strip()
    while pos < len(text):
        head = _STEP_HEAD.match(text, pos)
        if head is None:
            raise BadPath(f"cannot read the path '{path}' at '{text[pos:]}'")
        namespace = namespace_of(head.group(1), current)
        current = namespace
        pos = head.end()
        keys: list[tuple[str, str]] = []
        while pos < len(text) and text[pos] == "[":
            pred = _PREDICATE.match(text, pos)
            if pred is None:
                raise BadPath(f"cannot read the predicate in '{path}' at '{text[pos:]}'")
            key = "." if pred.group(3) else pred.group(2)
            value = pred.group(4) if pred.group(4) is not None else pred.group(5)
            keys.append((key, value))
            pos = pred.end()
        out.append(Step(namespace, head.group(2), tuple(sorted(keys))))
    return tuple(out)


def parse_instance_path(path: str, nsmap: dict[str | None, str]) -> Address:
    """A node-instance-identifier in XML encoding (prefixes from the element's nsmap)."""

    def resolve(prefix: str | None, current: str | None) -> str:
        if prefix is None:
            if current is None:
                raise BadPath(f"the first step of '{path}' has no prefix")
            return current
        if prefix not in nsmap:
            raise BadPath(f"unknown prefix '{prefix}' in '{path}'")
        return nsmap[prefix]

    return _steps(path, resolve)


def parse_data_path(path: str, namespaces: dict[str, str]) -> Address:
    """A libyang data path (`/module:a/b[k='v']`, module names as prefixes)."""

    def resolve(module: str | None, current: str | None) -> str:
        if module is None:
            if current is None:
                raise BadPath(f"the first step of '{path}' has no module")
            return current
        return namespaces.get(module, module)

    return _steps(path, resolve)


def _step_matches(rule_step: Step, node_step: Step) -> bool:
    if rule_step.namespace != node_step.namespace or rule_step.name != node_step.name:
        return False
    if not rule_step.keys:
        return True  # a missing key predicate means every instance
    node_keys = dict(node_step.keys)
    return all(node_keys.get(k) == v for k, v in rule_step.keys)


def path_covers(path: Address, address: Address) -> bool:
    """True when `address` is the node `path` names or one of its descendants."""
    if len(path) > len(address):
        return False
    return all(_step_matches(r, n) for r, n in zip(path, address, strict=False))


def path_may_cover_below(path: Address, address: Address) -> bool:
    """True when `path` names a node strictly below `address` (for some instance)."""
    if len(path) <= len(address):
        return False
    return all(_step_matches(r, n) for r, n in zip(path, address, strict=False))


class DataRuleIndex:
    """The rules that may decide a data node, found without testing every rule.

    A rule whose path has a key predicate (`/graphs/graph[name='a']/...`) can only cover nodes
    whose address has that list entry at that depth. A tenant's rule list is one such rule per
    graph it owns: testing each of them against every graph of a reply cost 7 ms at 100 graphs.
    Rules are filed by their first keyed step; `candidates` gives, in rule order, the rules
    without a keyed step and those filed under a list entry of the address.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.unkeyed: list[int] = []
        self.keyed: dict[tuple[int, str, str, tuple[tuple[str, str], ...]], list[int]] = {}
        for index, rule in enumerate(rules):
            if rule.kind not in ("any", "data"):
                continue
            path = rule.path or () if rule.kind == "data" else ()
            first = next(((depth, step) for depth, step in enumerate(path) if step.keys), None)
            if first is None:
                self.unkeyed.append(index)
            else:
                depth, step = first
                key = (depth, step.namespace, step.name, tuple(sorted(step.keys)))
                self.keyed.setdefault(key, []).append(index)

    def candidates(self, address: Address) -> list[int]:
        """Indices, ascending, of every rule that may cover `address` (a superset)."""
        found = list(self.unkeyed)
        if self.keyed:
            for depth, step in enumerate(address):
                keys = sorted(step.keys)
                for size in range(1, len(keys) + 1):
                    for subset in combinations(keys, size):
                        found.extend(self.keyed.get((depth, step.namespace, step.name, subset), ()))
        if len(found) > len(self.unkeyed):
            found.sort()
        return found
