#!/usr/bin/python
# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 (Ansible wants DOCUMENTATION before the imports)

from __future__ import annotations

DOCUMENTATION = r"""
module: cpe_facts
short_description: Gather capabilities, resources and graph status of nnfv CPEs
description:
  - Reads, with one NETCONF C(get), the operational state of a CPE running C(nnfv-agent)
    (YANG modules C(nnfv-node), C(nnfv-service-graph) and C(nnfv-nnf-template)) and returns
    it as C(ansible_facts.nnfv).
  - "YANG lists become dicts keyed by their key, so conditions read naturally, for example
    C(ansible_facts.nnfv.capabilities.functional.ipsec.ready | default(false)) or
    C('ipsec' in ansible_facts.nnfv.functions_ready)."
version_added: 0.1.0
author:
  - nnfv maintainers (@nnfv)
extends_documentation_fragment:
  - nnfv.cpe.netconf
attributes:
  check_mode:
    description: Only reads; runs the same in check mode.
    support: full
  diff_mode:
    description: Changes nothing, so has no diff.
    support: none
  facts:
    description: Returns C(ansible_facts.nnfv).
    support: full
options:
  gather_subset:
    description:
      - What to read. C(capabilities) are the functional and infrastructural capabilities,
        C(resources) the memory, CPU, load and disk figures, C(graphs) the deployment status
        of every graph, C(templates) the configured and shipped NNF templates.
      - C(all) is every subset, C(min) none of them (only C(agent), which needs no RPC). A
        subset written C(!name) is left out; a list of only such exclusions means all but
        those.
    type: list
    elements: str
    choices: [all, min, capabilities, resources, graphs, templates, '!all', '!min',
              '!capabilities', '!resources', '!graphs', '!templates']
    default: [all]
  gather_network_resources:
    description:
      - Network resources to return in C(ansible_facts.ansible_network_resources), each as
        the resource module of that name returns it with C(state=gathered).
      - C(all) is every resource; C(!name) leaves one out.
      - They are read in the same C(get) as the subsets.
    type: list
    elements: str
    choices: [all, service_graph, nf_template, '!all', '!service_graph', '!nf_template']
    version_added: 0.2.0
notes:
  - "C(gather_facts: true) runs this module when the inventory sets
    C(ansible_facts_modules: [nnfv.cpe.cpe_facts]) beside C(ansible_network_os). ansible-core
    chooses the facts module of a network OS from a table of its own, which a collection
    cannot extend, so without that variable fact gathering fails with C(No fact modules
    available)."
"""

EXAMPLES = r"""
- name: Read what each CPE can run
  nnfv.cpe.cpe_facts:
    gather_subset: [capabilities, resources]

- name: Deploy the IPsec graph only where IPsec is ready
  nnfv.cpe.service_graph:
    config: "{{ ipsec_graphs }}"
  when: "'ipsec' in ansible_facts.nnfv.functions_ready"

- name: Show free memory
  ansible.builtin.debug:
    msg: "{{ ansible_facts.nnfv.resources.memory_free | human_readable }}"

- name: The running graphs and templates, as network resources
  nnfv.cpe.cpe_facts:
    gather_subset: [min]
    gather_network_resources: [service_graph, nf_template]

- name: Push the gathered graphs to another CPE, unchanged
  nnfv.cpe.service_graph:
    config: "{{ hostvars['cpe-paris-01'].ansible_network_resources.service_graph }}"
    state: overridden
"""

RETURN = r"""
ansible_facts:
  description: Facts of the CPE.
  returned: always
  type: complex
  contains:
    nnfv:
      description: Everything gathered, per subset.
      returned: always
      type: dict
      sample:
        agent: {network_os: nnfv.cpe.cpe, modules: {nnfv-service-graph: "2026-11-22"}}
        functions_ready: [bridge, dhcp-server, firewall, nat]
        functions_not_ready: {ipsec: "ipsec: missing capability: kernel feature esp"}
        capabilities:
          functional: {firewall: {ready: true, reason: null, flavours: [native],
                                  templates: [firewall]}}
          infrastructural: {cpu_architecture: x86_64, cpu_count: 2,
                            execution_environments: [native],
                            kernel_features: {netns: {available: true, detail: "..."}},
                            executables: {nft: {available: true, path: /usr/sbin/nft}},
                            accelerators: {}}
        resources: {memory_total: 25165824000, memory_free: 24000000000, cpu_count: 2,
                    load_average_1: 0.12, disk_free: 50000000000,
                    committed: {memory: 0, cpu_weight: 0}, last_update: "2026-11-22T00:00:00Z"}
        graphs: {fw-nat: {state: deployed, error: null, last_change: "2026-11-22T00:00:00Z",
                          nfs: {fw: {state: running}}, flow_rules: {fwd-0: {packets: 3,
                          bytes: 252}}}}
        templates: {firewall: {functional_type: firewall, vnf_type: native, source: shipped}}
    ansible_network_resources:
      description:
        - The network resources of O(gather_network_resources), by name; each is a list in
          the format of the module's O(nnfv.cpe.service_graph#module:config).
      returned: when O(gather_network_resources) selects any
      type: dict
      sample:
        service_graph: [{name: fw-nat, nfs: [{id: fw, functional_type: firewall}]}]
        nf_template: []
    ansible_net_gather_subset:
      description: The subsets gathered.
      returned: always
      type: list
      elements: str
    ansible_net_gather_network_resources:
      description: The network resources gathered.
      returned: always
      type: list
      elements: str
rpcs:
  description: The NETCONF operations this task issued.
  returned: always
  type: list
  elements: str
  sample: [get]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.argspec.cpe_facts import (
    ARGUMENT_SPEC,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.facts import CpeFacts


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    CpeFacts(module).run()


if __name__ == "__main__":
    main()
