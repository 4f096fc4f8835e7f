# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Device XML -> ansible_facts.nnfv: capabilities, resources, graph status, templates.

Lists keyed in YANG become dicts keyed by that key, so that playbooks can write
``ansible_facts.nnfv.capabilities.functional.ipsec.ready`` in a ``when:``.
"""

from __future__ import annotations

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.service_graph import (
    CONFIG_FILTER as GRAPHS_FILTER,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.service_graph import (
    graph_status,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.xml import (
    NODE_NS,
    NT_NS,
    find,
    findall,
    text_of,
)

CONFIGURED_TEMPLATES = (
    f'<templates xmlns="{NT_NS}"><template><name/><functional-type/><vnf-type/>'
    "</template></templates>"
)
SHIPPED_TEMPLATES = (
    f'<shipped-templates xmlns="{NT_NS}"><template><name/>'
    "<functional-type/><vnf-type/></template></shipped-templates>"
)
FILTERS = {
    "capabilities": f'<node xmlns="{NODE_NS}"><capabilities/></node>',
    "resources": f'<node xmlns="{NODE_NS}"><resources/></node>',
    "graphs": GRAPHS_FILTER,
    "templates": CONFIGURED_TEMPLATES + SHIPPED_TEMPLATES,
}
NODE_ALL = f'<node xmlns="{NODE_NS}"/>'
SUBSETS = ("capabilities", "resources", "graphs", "templates")


def resolve_subsets(values, names, minimal=()):
    """The names selected by a gather_subset-style list: `all`, `min`, names, and `!name`
    (or `!all`, `!min`) to leave some out; only exclusions mean "all but those"."""
    include, exclude = set(), set()
    for value in values or []:
        negate = value.startswith("!")
        name = value[1:] if negate else value
        if name == "all":
            chosen = set(names)
        elif name == "min":
            chosen = set(minimal)
        else:
            chosen = {name}
        (exclude if negate else include).update(chosen)
    if exclude and not include:
        include = set(names)
    return include - exclude


def filters_for(subsets, full=()):
    """Subtree criteria of the subsets, merged so that one <get> reads them all.

    `full` are config subtree criteria read whole besides (the network resources); the
    configured templates of the `templates` subset are then read from the full subtree.
    """
    wanted = resolve_subsets(subsets, SUBSETS)
    out = []
    if {"capabilities", "resources"} <= wanted:
        out.append(NODE_ALL)
    else:
        out += [FILTERS[s] for s in ("capabilities", "resources") if s in wanted]
    if "graphs" in wanted and GRAPHS_FILTER not in full:
        out.append(GRAPHS_FILTER)
    if "templates" in wanted:
        full_templates = any("<templates " in c for c in full)
        out.append(SHIPPED_TEMPLATES if full_templates else FILTERS["templates"])
    out += list(full)
    return out, wanted


def _bool(text):
    return None if text is None else text == "true"


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def capabilities(root):
    caps = find(root, ".//node:node/node:capabilities")
    functional, infra = {}, {}
    if caps is None:
        return {"functional": functional, "infrastructural": infra}
    for fn in findall(caps, "node:functional/node:function"):
        functional[text_of(fn, "node:functional-type")] = {
            "ready": _bool(text_of(fn, "node:ready")),
            "reason": text_of(fn, "node:reason"),
            "flavours": [e.text for e in findall(fn, "node:flavour")],
            "templates": [e.text for e in findall(fn, "node:template")],
        }
    inf = find(caps, "node:infrastructural")
    if inf is not None:
        infra = {
            "cpu_architecture": text_of(inf, "node:cpu-architecture"),
            "cpu_count": _int(text_of(inf, "node:cpu-count")),
            "execution_environments": [e.text for e in findall(inf, "node:execution-environment")],
            "kernel_features": {
                text_of(k, "node:name"): {
                    "available": _bool(text_of(k, "node:available")),
                    "detail": text_of(k, "node:detail"),
                }
                for k in findall(inf, "node:kernel-feature")
            },
            "executables": {
                text_of(k, "node:name"): {
                    "available": _bool(text_of(k, "node:available")),
                    "path": text_of(k, "node:path"),
                }
                for k in findall(inf, "node:executable")
            },
            "accelerators": {
                text_of(k, "node:name"): {
                    "kind": text_of(k, "node:kind"),
                    "available": _bool(text_of(k, "node:available")),
                    "detail": text_of(k, "node:detail"),
                }
                for k in findall(inf, "node:accelerator")
            },
        }
    return {"functional": functional, "infrastructural": infra}


def resources(root):
    res = find(root, ".//node:node/node:resources")
    if res is None:
        return {}
    return {
        "memory_total": _int(text_of(res, "node:memory-total")),
        "memory_free": _int(text_of(res, "node:memory-free")),
        "cpu_count": _int(text_of(res, "node:cpu-count")),
        "load_average_1": _float(text_of(res, "node:load-average-1")),
        "disk_free": _int(text_of(res, "node:disk-free")),
        "committed": {
            "memory": _int(text_of(res, "node:committed/node:memory")) or 0,
            "cpu_weight": _int(text_of(res, "node:committed/node:cpu-weight")) or 0,
        },
        "last_update": text_of(res, "node:last-update"),
    }


def templates(root):
    out = {}
    for kind, path in (("configured", "nnft:templates"), ("shipped", "nnft:shipped-templates")):
        for tpl in findall(root, f".//{path}/nnft:template"):
            out[text_of(tpl, "nnft:name")] = {
                "functional_type": text_of(tpl, "nnft:functional-type"),
                "vnf_type": text_of(tpl, "nnft:vnf-type") or "native",
                "source": kind,
            }
    return out


def node_facts(root, wanted):
    facts = {}
    if "capabilities" in wanted:
        caps = capabilities(root)
        facts["capabilities"] = caps
        facts["functions_ready"] = sorted(k for k, v in caps["functional"].items() if v["ready"])
        facts["functions_not_ready"] = {
            k: v["reason"] for k, v in caps["functional"].items() if not v["ready"]
        }
    if "resources" in wanted:
        facts["resources"] = resources(root)
    if "graphs" in wanted:
        facts["graphs"] = graph_status(root)
    if "templates" in wanted:
        facts["templates"] = templates(root)
    return facts
