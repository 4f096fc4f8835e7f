# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The YANG binding of a resource: Ansible options <-> XML, normalisation, states and diffs.

One `Model` describes one top-level YANG list (``/graphs/graph``, ``/templates/template``)
through the module's own argument spec plus a few annotations (YANG names that are not the
option name with ``_`` -> ``-``, list keys, defaults, choices, value normalisers). Everything
here is pure: no device, no AnsibleModule. The same code renders the edit-config XML, parses
device XML back into option dicts, and computes the path-level diff, so the three can never
disagree.
"""

from __future__ import annotations

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.binding.diff import Diff, render_changes
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.binding.from_xml import XmlReader
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.binding.states import STATES_WRITING
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.binding.values import (
    NORMALISERS,
    ip_address,
    ip_prefix,
    mac_address,
)

__all__ = [
    "NORMALISERS",
    "STATES_WRITING",
    "Model",
    "ip_address",
    "ip_prefix",
    "mac_address",
    "render_changes",
]


class Model(XmlReader, Diff):
    """How one resource's option dicts map to a YANG list and back.

    Assembled from parts with one job each (binding/): the schema (schema.py), XML out
    (to_xml.py) and in (from_xml.py), comparable forms (canonical.py), states (states.py)
    and the diff (diff.py). Paths are dotted option names below one list entry, e.g.
    ``nfs.ports`` or ``flow_rules.match.source_ipv4``; the entry itself is the path ``""``.
    """
