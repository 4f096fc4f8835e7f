# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nnfv.cpe.nf_template: want against have for /templates."""

from __future__ import annotations

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.nf_template import (
    CONFIG_FILTER,
    TEMPLATES,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.service_graph import (
    CONFIG_FILTER as GRAPHS_FILTER,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.service_graph import (
    graph_status,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.rm_base import ResourceModule


class NfTemplates(ResourceModule):
    model = TEMPLATES
    config_filter = CONFIG_FILTER

    def read_after(self):
        """One <get> of the templates and of the graphs that may use them."""
        root = self.device.get(CONFIG_FILTER, GRAPHS_FILTER)
        after = [self.model.clean(e) for e in self.model.entries_from_xml(root)]
        return after, graph_status(root)

    def watched(self, changes, target):
        return None  # every graph: a template change may redeploy any of them

    def verdict(self, status, watch):
        failed = [
            f"graph {name}: {st.get('error')}"
            for name, st in status.items()
            if st.get("state") == "failed"
        ]
        if failed:
            return "failed", "after the template change " + "; ".join(failed)
        return "ok", ""
