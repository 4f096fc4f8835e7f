"""Which template runs an NF: the node decides the implementation (paper Section III-C).

The node's say comes in through `readiness` (its capabilities, passed in by the data plane),
so planning does not import the node package.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import AgentError, Kind
from ..model.graph import NF
from ..model.template import Template

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
