# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nnfv.cpe.service_graph: want against have for /graphs, and when a push has worked."""

from __future__ import annotations

import re

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.errors import RpcFailure
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.service_graph import (
    CONFIG_FILTER,
    GRAPHS,
    graph_status,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.rm_base import ResourceModule

IN_PROGRESS = ("pending", "deploying", "updating", "removing")
_ENDPOINT_INTERFACE = re.compile(
    r"^config\[name=(?P<graph>[^\]]*)\]\.endpoints\[id=(?P<endpoint>[^\]]*)\]\.interface$"
)


class ServiceGraphs(ResourceModule):
    model = GRAPHS
    config_filter = CONFIG_FILTER

    def read_after(self):
        """One <get>: the config part is `after`, the status part tells whether it deployed."""
        root = self.device.get(CONFIG_FILTER)
        after = [self.model.clean(e) for e in self.model.entries_from_xml(root)]
        return after, graph_status(root)

    def watched(self, changes, target):
        """Graphs added or changed by this push (a graph removed as a whole needs no status)."""
        names = []
        for change in changes:
            name = change["path"][len("graph[") : change["path"].index("]")]
            whole = "/" not in change["path"]
            if not (whole and change["change"] == "removed") and name not in names:
                names.append(name)
        return names

    def verdict(self, status, watch):
        waiting = []
        for name in watch:
            graph = status.get(name) or {}
            state = graph.get("state")
            if state == "failed":
                failed_nfs = [
                    f"nf {nf}: {st.get('last_error')}"
                    for nf, st in graph.get("nfs", {}).items()
                    if st.get("state") == "failed"
                ]
                detail = graph.get("error") or "; ".join(failed_nfs) or "no detail"
                return "failed", f"graph {name} failed to deploy: {detail}"
            if state == "deployed" or (state == "pending" and self._disabled(name)):
                continue
            waiting.append(f"graph {name} is {state or 'not reported'}")
        if waiting:
            return "wait", "; ".join(waiting)
        return "ok", ""

    def explain(self, failure, have, changes):
        """An interface conflict is reported by the agent on the graph that already holds the
        interface (both graphs break the rule, that one comes first); point it at the graph
        of this task that asks for the interface."""
        pushed = self.watched(changes, self.target or [])
        errors = [self._blame_pushed(e, have, pushed) for e in failure.errors]
        if errors == failure.errors:
            return failure
        return RpcFailure(failure.operation, errors)

    def _blame_pushed(self, error, have, pushed):
        found = _ENDPOINT_INTERFACE.match(error.get("option_path") or "")
        if not found or found.group("graph") in pushed:
            return error
        holder, endpoint = found.group("graph"), found.group("endpoint")
        graph = next((g for g in have if g.get("name") == holder), {})
        held = next((e for e in graph.get("endpoints", []) if e.get("id") == endpoint), {})
        interface = held.get("interface")
        for entry in self.target or []:
            if entry.get("name") not in pushed:
                continue
            for ep in entry.get("endpoints", []):
                if interface and ep.get("interface") == interface:
                    name, ep_id = entry["name"], ep["id"]
                    return dict(
                        error,
                        error_path=(
                            f"/nfg:graphs/nfg:graph[nfg:name='{name}']"
                            f"/nfg:endpoint[nfg:id='{ep_id}']/nfg:interface"
                        ),
                        option_path=f"config[name={name}].endpoints[id={ep_id}].interface",
                        device_error_path=error.get("error_path"),
                        error_message=(
                            f"{error.get('error_message')} (interface {interface} is held by "
                            f"config[name={holder}].endpoints[id={endpoint}])"
                        ),
                    )
        return error

    def _disabled(self, name):
        for entry in self.target or []:
            if entry.get("name") == name:
                return entry.get("admin_state") == "disabled"
        return False
