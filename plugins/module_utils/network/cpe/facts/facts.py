# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where ansible.netcommon.network_resource looks for the network resources of the network
OS nnfv.cpe.cpe (module_utils/network/<os>/facts/facts.py, FACT_RESOURCE_SUBSETS) when it
lists them; each one is the module of that name (nnfv.cpe.service_graph, ...)."""

from __future__ import annotations

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.facts import (
    FACT_RESOURCE_SUBSETS,
)

__all__ = ["FACT_RESOURCE_SUBSETS"]
