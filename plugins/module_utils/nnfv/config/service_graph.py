# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nnfv.cpe.service_graph: want against have for /graphs, and when a push has worked."""

from __future__ import annotations

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.service_graph import (
    CONFIG_FILTER,
    GRAPHS,
    graph_status,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.rm_base import ResourceModule

IN_PROGRESS = ("pending", "deploying", "updating", "removing")


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

    def _disabled(self, name):
        for entry in self.target or []:
            if entry.get("name") == name:
                return entry.get("admin_state") == "disabled"
        return False
