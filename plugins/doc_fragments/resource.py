# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation fragment nnfv.cpe.resource: the options of the resource modules
(service_graph, nf_template) besides `config`: state, running_config, the confirmed commit
and its deploy timeout."""

from __future__ import annotations


class ModuleDocFragment:
    # Options of the resource modules (service_graph, nf_template) other than `config`.
    DOCUMENTATION = r"""
options:
  running_config:
    description:
      - XML of the module's container (for example the reply of a C(get-config)) to parse
        with O(state=parsed).
    type: str
  state:
    description:
      - C(merged) merges the given entries into the running ones.
      - C(replaced) replaces each given entry as a whole; other entries stay.
      - C(overridden) makes the given entries the only ones.
      - C(deleted) removes the given entries (all of them without O(config)).
      - C(gathered) returns the running entries; C(rendered) returns the edit-config XML of
        O(config) and C(parsed) the entries of O(running_config), both without a device.
    type: str
    choices: [merged, replaced, overridden, deleted, gathered, rendered, parsed]
    default: merged
  confirm_timeout:
    description:
      - Seconds for a confirmed commit (RFC 6241 C(:confirmed-commit)); C(0) commits plainly.
      - The task confirms the commit once the graphs it affects report C(deployed), and
        cancels it if one fails. If nothing confirms it in time, or the NETCONF session drops
        first, the CPE rolls back by itself.
    type: int
    default: 0
  confirm:
    description:
      - Whether this task confirms its confirmed commit. With C(false) the commit stays
        pending (the result has C(pending_confirm)) and the CPE rolls back when
        O(confirm_timeout) expires, unless a later task in the same session confirms it, for
        example M(ansible.netcommon.netconf_config) with its C(confirm_commit) option.
    type: bool
    default: true
  deploy_timeout:
    description: Seconds to wait, after a confirmed commit, for the graphs to report C(deployed).
    type: int
    default: 30
"""
