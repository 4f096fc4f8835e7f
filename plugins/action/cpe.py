# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one action plugin of the nnfv.cpe modules: ansible.netcommon's network action.

meta/runtime.yml routes every module of the collection here (`action_plugin: nnfv.cpe.cpe`).
It is named after the network OS, as ansible.netcommon.network_resource looks for the action
plugin `<ansible_network_os>` to run a resource module. It lets the persistent connection's
`import_modules` option run the module inside the worker process (no interpreter start-up,
no AnsiballZ payload per host), as netcommon's own modules do.
"""

from __future__ import annotations

from ansible_collections.ansible.netcommon.plugins.action.network import (
    ActionModule as ActionNetworkModule,
)


class ActionModule(ActionNetworkModule):
    def run(self, tmp=None, task_vars=None):
        self._config_module = False
        return super().run(task_vars=task_vars)
