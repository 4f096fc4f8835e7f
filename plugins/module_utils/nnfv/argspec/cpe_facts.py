# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Argument spec of nnfv.cpe.cpe_facts."""

from __future__ import annotations

SUBSETS = ["all", "min", "capabilities", "resources", "graphs", "templates"]
# The network resources: the resource modules whose `gathered` state they mirror.
RESOURCES = ["all", "service_graph", "nf_template"]

ARGUMENT_SPEC = {
    "gather_subset": {
        "type": "list",
        "elements": "str",
        "choices": SUBSETS + ["!" + s for s in SUBSETS],
        "default": ["all"],
    },
    "gather_network_resources": {
        "type": "list",
        "elements": "str",
        "choices": RESOURCES + ["!" + r for r in RESOURCES],
    },
}
