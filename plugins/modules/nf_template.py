#!/usr/bin/python
# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 (Ansible wants DOCUMENTATION before the imports)

from __future__ import annotations

DOCUMENTATION = r"""
module: nf_template
short_description: Manage the NNF templates configured on nnfv CPEs
description:
  - Manages C(/templates/template) of the YANG module C(nnfv-nnf-template) on a CPE running
    C(nnfv-agent), that is the descriptors of native network function implementations
    (package, ports, dependencies, lifecycle scripts, resources, parameters). Templates
    shipped with the agent are read-only and not managed here.
  - Same conventions as M(nnfv.cpe.service_graph) - states, C(changed) from a real
    comparison, check mode through the candidate, path-level diff, confirmed commits and
    readable rpc-errors. A template is replaced as a whole when it changes.
version_added: 0.1.0
author:
  - nnfv maintainers (@nnfv)
extends_documentation_fragment:
  - nnfv.cpe.resource
  - nnfv.cpe.netconf
attributes:
  check_mode:
    description: Can run in check mode and predict changes without modifying the device.
    support: full
  diff_mode:
    description: Reports path-level changes in diff mode.
    support: full
options:
  config:
    description: The templates.
    type: list
    elements: dict
    suboptions:
      name:
        description: Template name, unique on the CPE.
        type: str
        required: true
      description:
        description: Free-text description.
        type: str
      functional_type:
        description: The function implemented, for example C(firewall).
        type: str
      uri:
        description: Where the package (a C(.tgz) of lifecycle scripts) is fetched from.
        type: str
      sha256:
        description: SHA-256 digest of the package, 64 hexadecimal digits.
        type: str
      vnf_type:
        description: Implementation flavour (YANG default C(native)).
        type: str
        choices: [native, docker, vm]
      sharable:
        description: Whether one instance may serve several graphs (YANG default false).
        type: bool
      ports:
        description: Ports of the function.
        type: list
        elements: dict
        suboptions:
          name:
            description: Port name.
            type: str
            required: true
          index:
            description: Position of the port, from 0.
            type: int
          description:
            description: Free-text description.
            type: str
      dependencies:
        description: What the node must offer for the function to run.
        type: list
        elements: dict
        suboptions:
          kind:
            description: Kind of dependency.
            type: str
            required: true
            choices: [package, executable, kernel-feature]
          name:
            description: Name of the package, executable or kernel feature.
            type: str
            required: true
      lifecycle_management_scripts:
        description: Scripts of the package per lifecycle event; C(start) and C(stop) are required.
        type: list
        elements: dict
        suboptions:
          event:
            description: Lifecycle event.
            type: str
            required: true
            choices: [start, stop, update, status, pause]
          script:
            description: Relative path of the script in the package.
            type: str
      resources:
        description: Resource needs and limits of one instance.
        type: dict
        suboptions:
          memory:
            description: Memory needed, in bytes.
            type: int
          memory_limit:
            description: Hard memory limit, in bytes.
            type: int
          cpu_weight:
            description: Relative CPU weight, 1 to 10000.
            type: int
          pids_limit:
            description: Maximum number of processes.
            type: int
      parameters:
        description: Configuration parameters the function accepts.
        type: list
        elements: dict
        suboptions:
          name:
            description: Parameter name.
            type: str
            required: true
          type:
            description: Value syntax (YANG default C(string)).
            type: str
            choices: [string, integer, boolean, ipv4-address, ipv4-prefix, ipv6-address,
                      ipv6-prefix, mac-address, port-list]
          default:
            description: Value used when a graph does not set the parameter.
            type: str
          mandatory:
            description: Whether every graph must set it (YANG default false).
            type: bool
          description:
            description: Free-text description.
            type: str
"""

EXAMPLES = r"""
- name: Add a custom firewall template
  nnfv.cpe.nf_template:
    config:
      - name: fw-strict
        functional_type: firewall
        uri: file:///var/lib/nnfv/nnf/fw-strict.tgz
        sha256: "{{ lookup('file', 'fw-strict.tgz.sha256') }}"
        ports:
          - {name: in, index: 0}
          - {name: out, index: 1}
        dependencies:
          - {kind: executable, name: nft}
        lifecycle_management_scripts:
          - {event: start, script: scripts/start.sh}
          - {event: stop, script: scripts/stop.sh}

- name: Remove every configured template
  nnfv.cpe.nf_template:
    state: deleted
"""

RETURN = r"""
before:
  description: The configured templates before the task.
  returned: when O(state) is merged, replaced, overridden or deleted
  type: list
  elements: dict
after:
  description: The configured templates after the task (check mode - the edited candidate).
  returned: when changed
  type: list
  elements: dict
commands:
  description: The edit-config C(<config>) sent.
  returned: when O(state) is merged, replaced, overridden or deleted
  type: list
  elements: str
changes:
  description: Path-level changes, for example C(template[fw-strict]) changed, with fields.
  returned: when O(state) is merged, replaced, overridden or deleted
  type: list
  elements: dict
plan:
  description: The operations the agent would run for the commit (check mode only).
  returned: when changed in check mode
  type: list
  elements: str
status:
  description: Status of every graph after the commit.
  returned: when changed with O(confirm_timeout) > 0, outside check mode
  type: dict
pending_confirm:
  description: True when the confirmed commit was left unconfirmed.
  returned: when O(confirm=false) and changed
  type: bool
gathered:
  description: The configured templates.
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: The edit-config XML of O(config).
  returned: when O(state=rendered)
  type: str
parsed:
  description: The templates of O(running_config).
  returned: when O(state=parsed)
  type: list
  elements: dict
rpcs:
  description: The NETCONF operations this task issued, in order.
  returned: when the device was contacted
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.argspec.common import (
    REQUIRED_IF,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.argspec.nf_template import (
    ARGUMENT_SPEC,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.config.nf_template import (
    NfTemplates,
)


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_if=REQUIRED_IF,
        mutually_exclusive=[["config", "running_config"]],
        supports_check_mode=True,
    )
    NfTemplates(module).run()


if __name__ == "__main__":
    main()
