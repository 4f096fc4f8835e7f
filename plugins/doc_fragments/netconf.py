# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation fragment nnfv.cpe.netconf: requirements, connection notes and the common
attributes of every module that talks to a CPE."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
requirements:
  - ncclient
  - lxml
notes:
  - Runs over C(ansible_connection=ansible.netcommon.netconf) with
    C(ansible_network_os=nnfv.cpe.cpe).
  - All the modules of this collection are in the action group C(nnfv.cpe.cpe), so
    C(module_defaults) of C(group/nnfv.cpe.cpe) apply to each of them.
attributes:
  platform:
    description: Target platform.
    support: full
    platforms: nnfv-agent
"""
