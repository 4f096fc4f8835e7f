"""Which template runs an NF: the node decides the implementation (paper Section III-C).

The node's say comes in through `readiness` (its capabilities, passed in by the data plane),
so planning does not import the node package.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import libyang

from ..drivers.compute.instance import Port
from ..drivers.naming import Names
from ..errors import AgentError, Kind
from ..model.graph import NF, Graph
from ..model.template import Template
from .deployment import TEMPLATES, Deployment, Member, subtree_xml
from .pipeline import PlanRefused
from .views import graphs_in

log = logging.getLogger(__name__)

# Returns None when the template can run here, else the reason it cannot.
Readiness = Callable[[Template], str | None]
SUPPORTED_FLAVOURS = ("native",)


class ResolveError(AgentError):
    kind = Kind.DATA_MISSING
    app_tag = "unresolved-reference"


def resolve(
    graph: str, nf: NF, templates: dict[str, Template], readiness: Readiness = lambda t: None
) -> Template:
    wanted = nf.flavour
    if nf.template:
        tpl = templates.get(nf.template)
        if tpl is None:
            raise ResolveError(
                f"NF {graph}/{nf.id}: no template named '{nf.template}' on this node"
            )
        candidates = [tpl]
    else:
        candidates = sorted(
            (t for t in templates.values() if t.functional_type == nf.functional_type),
            key=lambda t: (t.origin != "configured", t.name),
        )
        if not candidates:
            raise ResolveError(
                f"NF {graph}/{nf.id}: missing capability: no template provides "
                f"functional type '{nf.functional_type}' on this node"
            )
    reasons = []
    for tpl in candidates:
        if wanted not in ("any", tpl.vnf_type):
            reasons.append(f"{tpl.name} is {tpl.vnf_type}, not {wanted}")
            continue
        if tpl.vnf_type not in SUPPORTED_FLAVOURS:
            reasons.append(f"{tpl.name}: missing capability: execution environment {tpl.vnf_type}")
            continue
        why = readiness(tpl)
        if why:
            reasons.append(f"{tpl.name}: {why}")
            continue
        return tpl
    what = f"template '{nf.template}'" if nf.template else f"functional type '{nf.functional_type}'"
    raise ResolveError(f"NF {graph}/{nf.id}: cannot run {what} here: " + "; ".join(reasons))


class PlanError(PlanRefused):
    """The configuration cannot be deployed on this node (missing capability, bad parameter)."""


class Resolver:
    """Resolves NFs to templates and instance names; checks parameters and ports."""

    def __init__(
        self,
        names: Names,
        templates: Callable[[str], dict[str, Template]],
        deployed: Callable[[str], Template | None],
        readiness: Callable[[Template], str | None] = lambda t: None,
    ) -> None:
        self.names = names
        self.templates = templates  # from the configured templates' XML
        self.deployed = deployed
        self.readiness = readiness

    def members(
        self,
        graphs: Iterable[Graph],
        templates_xml: Callable[[], str],
        *,
        current: bool,
        failed: dict[tuple[str, str], str] | None = None,
    ) -> dict[tuple[str, str], Member]:
        """Members of the enabled `graphs`. With `failed`, an NF that cannot be resolved is
        recorded there (start-up); without it, it refuses the plan."""
        enabled = [g for g in graphs if g.enabled]
        # The catalog (which packs the shipped templates once) only when an NF needs it.
        templates = self.templates(templates_xml()) if any(g.nfs for g in enabled) else {}
        out = {}
        for graph in enabled:
            for nf in graph.nfs.values():
                try:
                    out[(graph.name, nf.id)] = self._member(graph.name, nf, templates, current)
                except PlanError as exc:
                    if failed is None:
                        raise
                    failed[(graph.name, nf.id)] = str(exc)
        return out

    def deployment(self, tree: libyang.DNode | None) -> Deployment:
        """What `tree` deploys, by the templates its NFs run now (start-up)."""
        graphs = graphs_in(tree)
        failed: dict[tuple[str, str], str] = {}
        members = self.members(
            graphs.values(), lambda: subtree_xml(tree, TEMPLATES), current=True, failed=failed
        )
        for (graph, nf), why in sorted(failed.items()):
            log.error("NF %s/%s cannot be deployed here: %s", graph, nf, why)
        return Deployment(graphs, members, failed)

    def _member(self, graph: str, nf: NF, templates: dict[str, Template], current: bool) -> Member:
        key = self.names.nf_netns(graph, nf.id)
        tpl = self.deployed(key) if current else None
        if tpl is None:
            try:
                tpl = resolve(graph, nf, templates, self.readiness)
            except ResolveError as exc:
                raise PlanError(str(exc)) from None
        if tpl.sharable:
            key = self.names.shared_netns(tpl.name)
            tpl = (self.deployed(key) if current else None) or tpl
        missing = [p for p in nf.ports if p not in tpl.ports]
        if missing or (set(tpl.ports) - set(nf.ports)):
            raise PlanError(
                f"NF {graph}/{nf.id}: its ports {list(nf.ports)} do not match the "
                f"ports {list(tpl.ports)} of template {tpl.name}"
            )
        ports = tuple(
            Port(p, self.names.nf_ifname(p, i, graph if tpl.sharable else None))
            for i, p in enumerate(tpl.ports)
        )
        return Member(graph, nf, tpl, key, ports, _params(graph, nf, tpl))


def _params(graph: str, nf: NF, tpl: Template) -> tuple[tuple[str, str], ...]:
    given = nf.param_dict
    unknown = sorted(set(given) - {p.name for p in tpl.parameters})
    if unknown:
        raise PlanError(
            f"NF {graph}/{nf.id}: template {tpl.name} has no parameter "
            f"{', '.join(repr(u) for u in unknown)}"
        )
    values = {}
    for p in tpl.parameters:
        if p.name in given:
            values[p.name] = given[p.name]
        elif p.default is not None:
            values[p.name] = p.default
        elif p.mandatory:
            raise PlanError(
                f"NF {graph}/{nf.id}: parameter '{p.name}' is mandatory for template {tpl.name}"
            )
    return tuple(sorted(values.items()))
