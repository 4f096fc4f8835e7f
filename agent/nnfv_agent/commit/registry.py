"""Which part of the node a configuration change touches: one entry per config schema node.

After FRR's northbound tables: every configuration node of our modules is listed here with
its handler, or explicitly as having no kernel effect. `missing_entries` walks the loaded
schema; the agent refuses to start (and a unit test fails) when a node has no entry, so a new
YANG leaf cannot commit "successfully" and silently do nothing.

A handler does not touch the kernel. It records, from one typed `Change`, which graph,
template or node policy the change belongs to (`Affected`); the planners then emit the
operations for exactly those. A sharable NF serves several graphs, so operations are emitted
per affected instance rather than per changed leaf.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import libyang

from ..model.graph import MATCH_FIELDS, REWRITE_FIELDS
from .changes import Change, ChangeKind, list_keys

SG = "/nnfv-service-graph:graphs"
GRAPH = SG + "/graph"
NF = GRAPH + "/nf"
EP = GRAPH + "/endpoint"
RULE = GRAPH + "/flow-rule"
TPL = "/nnfv-nnf-template:templates/template"
NODE = "/nnfv-node:node"
NACM = "/ietf-netconf-acm:nacm"

# The modules whose configuration the registry must cover.
MODULES = ("nnfv-service-graph", "nnfv-nnf-template", "nnfv-node", "ietf-netconf-acm")


@dataclass
class Affected:
    """What a change set touches, by key. Planners read only these parts of the trees."""

    graphs: set[str] = field(default_factory=set)
    all_graphs: bool = False  # the whole /graphs container was created or deleted
    templates: set[str] = field(default_factory=set)
    node_policy: bool = False  # /node: allowed interfaces, accelerators
    # (graph, endpoint id) of endpoints whose interface leaf was set: the ownership check.
    interfaces: set[tuple[str, str]] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return not (self.graphs or self.all_graphs or self.templates or self.node_policy)


Handler = Callable[[Change, Affected], None]


def _graph(change: Change, affected: Affected) -> None:
    name = list_keys(change.path).get("graph")
    if name is None:  # pragma: no cover - every path under /graphs/graph has the key
        affected.all_graphs = True
    else:
        affected.graphs.add(name)


def _graphs(change: Change, affected: Affected) -> None:
    affected.all_graphs = True


def _endpoint(change: Change, affected: Affected) -> None:
    _graph(change, affected)
    keys = list_keys(change.path)
    if "endpoint" in keys and change.kind is not ChangeKind.DELETED:
        affected.interfaces.add((keys["graph"], keys["endpoint"]))


def _template(change: Change, affected: Affected) -> None:
    # Which NFs a template serves depends on every NF's functional type, flavour and the
    # node's readiness: every graph is planned again (rare, and still only re-resolved).
    name = list_keys(change.path).get("template")
    affected.templates.add(name or "*")
    affected.all_graphs = True


def _node(change: Change, affected: Affected) -> None:
    # Allowed interfaces and accelerators gate every graph's endpoints and NFs.
    affected.node_policy = True
    affected.all_graphs = True


def no_kernel_effect(change: Change, affected: Affected) -> None:
    """Stored and returned, never deployed: text for people (descriptions), and the access
    control rules (/nacm), which the NETCONF layer reads from running on each request."""


def _entries(handler: Handler, *paths: str) -> dict[str, Handler]:
    return dict.fromkeys(paths, handler)


def _policy(parent: str) -> list[str]:
    """The restart-policy container and its leaves under `parent`."""
    base = parent + "/restart-policy"
    leaves = (
        "auto-restart",
        "retry-minimum-wait-interval",
        "retry-maximum-wait-interval",
        "retry-interval-multiplier",
        "max-restarts",
        "restart-count-reset-time",
    )
    return [base, *(f"{base}/{leaf}" for leaf in leaves)]


REGISTRY: dict[str, Handler] = {
    SG: _graphs,
    **_entries(_graph, GRAPH, GRAPH + "/name", GRAPH + "/admin-state"),
    GRAPH + "/description": no_kernel_effect,
    **_entries(
        _graph,
        NF,
        NF + "/id",
        NF + "/implementation/functional-type/functional-type",
        NF + "/implementation/template/template",
        NF + "/flavour",
        NF + "/admin-state",
        NF + "/port",
        NF + "/port/name",
        NF + "/config-parameter",
        NF + "/config-parameter/name",
        NF + "/config-parameter/value",
        # The supervisor reads the policy from the planner's model: no kernel operation.
        *_policy(NF),
    ),
    NF + "/port/description": no_kernel_effect,
    **_entries(
        _endpoint,
        EP,
        EP + "/id",
        EP + "/type/interface/interface",
        EP + "/type/vlan/vlan",
        EP + "/type/vlan/vlan/interface",
        EP + "/type/vlan/vlan/vlan-id",
        EP + "/type/vxlan/vxlan",
        EP + "/type/vxlan/vxlan/remote",
        EP + "/type/vxlan/vxlan/vni",
        EP + "/type/vxlan/vxlan/local",
        EP + "/type/vxlan/vxlan/dst-port",
        EP + "/type/vxlan/vxlan/interface",
        EP + "/type/internal/internal-group",
    ),
    **_entries(
        _graph,
        RULE,
        RULE + "/id",
        RULE + "/priority",
        RULE + "/match",
        *(RULE + "/match/" + leaf for leaf in ("port-in", *MATCH_FIELDS)),
        RULE + "/actions",
        *(RULE + "/actions/" + leaf for leaf in ("output", "drop", *REWRITE_FIELDS)),
    ),
    "/nnfv-nnf-template:templates": _template,
    **_entries(
        _template,
        TPL,
        TPL + "/name",
        TPL + "/functional-type",
        TPL + "/uri",
        TPL + "/sha256",
        TPL + "/vnf-type",
        TPL + "/sharable",
        TPL + "/port",
        TPL + "/port/name",
        TPL + "/port/index",
        TPL + "/dependency",
        TPL + "/dependency/kind",
        TPL + "/dependency/name",
        TPL + "/lifecycle-management-script",
        TPL + "/lifecycle-management-script/event",
        TPL + "/lifecycle-management-script/script",
        TPL + "/resources",
        TPL + "/resources/memory",
        TPL + "/resources/memory-limit",
        TPL + "/resources/cpu-weight",
        TPL + "/resources/pids-limit",
        TPL + "/parameter",
        TPL + "/parameter/name",
        TPL + "/parameter/type",
        TPL + "/parameter/default",
        TPL + "/parameter/mandatory",
        *_policy(TPL),
    ),
    TPL + "/description": no_kernel_effect,
    TPL + "/port/description": no_kernel_effect,
    TPL + "/parameter/description": no_kernel_effect,
    **_entries(
        _node,
        NODE,
        NODE + "/allowed-interface",
        NODE + "/accelerator",
        NODE + "/accelerator/name",
        NODE + "/accelerator/kind",
    ),
    NODE + "/accelerator/description": no_kernel_effect,
    **_entries(
        no_kernel_effect,
        NACM,
        *(
            NACM + "/" + leaf
            for leaf in (
                "enable-nacm",
                "read-default",
                "write-default",
                "exec-default",
                "enable-external-groups",
                "groups",
                "groups/group",
                "groups/group/name",
                "groups/group/user-name",
                "rule-list",
                "rule-list/name",
                "rule-list/group",
                "rule-list/rule",
                *(
                    "rule-list/rule/" + leaf
                    for leaf in (
                        "name",
                        "module-name",
                        "rule-type/protocol-operation/rpc-name",
                        "rule-type/notification/notification-name",
                        "rule-type/data-node/path",
                        "access-operations",
                        "action",
                        "comment",
                    )
                ),
            )
        ),
    ),
}


class UnmappedChange(Exception):
    """A change whose schema node has no registry entry: a bug, refused before any effect."""


def classify(changes: Iterable[Change], registry: dict[str, Handler] = REGISTRY) -> Affected:
    affected = Affected()
    for change in changes:
        handler = registry.get(change.schema_path)
        if handler is None:
            raise UnmappedChange(
                f"no handler for the configuration node {change.schema_path}; "
                "add it to commit/registry.py"
            )
        handler(change, affected)
    return affected


def config_schema_paths(ctx: libyang.Context, modules: Iterable[str] = MODULES) -> list[str]:
    """Every configuration data node (container, list, leaf, leaf-list) of `modules`."""
    out: list[str] = []

    def walk(snode: libyang.SNode) -> None:
        for child in snode.children():
            if child.config_false():
                continue
            keyword = child.keyword()
            if keyword in ("choice", "case"):
                walk(child)
                continue
            if keyword not in ("container", "list", "leaf", "leaf-list"):
                continue
            out.append(child.schema_path())
            if keyword in ("container", "list"):
                walk(child)

    for name in modules:
        mod = ctx.get_module(name)
        for top in mod.children():
            if top.config_false() or top.keyword() not in (
                "container",
                "list",
                "leaf",
                "leaf-list",
            ):
                continue
            out.append(top.schema_path())
            if top.keyword() in ("container", "list"):
                walk(top)
    return out


def missing_entries(ctx: libyang.Context, registry: dict[str, Handler] = REGISTRY) -> list[str]:
    return [p for p in config_schema_paths(ctx) if p not in registry]
