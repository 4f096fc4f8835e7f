# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Argument spec of nnfv.cpe.cpe_facts."""

from __future__ import annotations

SUBSETS = ["all", "capabilities", "resources", "graphs", "templates"]

ARGUMENT_SPEC = {
    "gather_subset": {
        "type": "list",
        "elements": "str",
        "choices": SUBSETS,
        "default": ["all"],
    },
}
