#!/usr/bin/python
# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 (Ansible wants DOCUMENTATION before the imports)

from __future__ import annotations

DOCUMENTATION = r"""
module: service_graph
short_description: Manage service graphs (NF-FGs) on nnfv CPEs
description:
  - Manages C(/graphs/graph) of the YANG module C(nnfv-service-graph) on a CPE running
    C(nnfv-agent), over the C(ansible.netcommon.netconf) connection.
  - A graph chains network functions (O(config[].nfs)) between endpoints
    (O(config[].endpoints)) with flow rules (O(config[].flow_rules)). Options mirror the YANG
    model; a YANG name C(a-b) is written C(a_b), and lists are plural.
  - The module reads the running graphs, compares them (normalised) with the wanted ones and
    sends only the difference. C(changed) comes from that comparison; a second identical run
    sends nothing.
  - Check mode locks the candidate, edits it, reads the result back, asks the agent for the
    plan of the commit (C(preview-commit), which also fully validates it), then discards the
    candidate and unlocks. It never commits.
  - Diff mode reports which graph, NF, endpoint or flow rule is added, removed or changed,
    field by field.
  - With O(confirm_timeout), the commit is a confirmed commit that the task itself confirms
    once every pushed graph reports C(deployed). If a graph fails, the task cancels the
    commit; if the task or the controller dies, the CPE rolls back by itself.
version_added: 0.1.0
author:
  - nnfv maintainers (@nnfv)
notes:
  - What the YANG model makes mandatory (an NF's type or template, an endpoint's kind, a
    rule's priority, input port and action, a parameter's value, the VLAN and VXLAN
    identifiers) is checked by the module before any commit, for whole graphs
    (O(state=replaced), O(state=overridden), O(state=rendered)) before any RPC, and names
    each option by the keys of its graph, NF, endpoint or rule, for example
    C(config[name=fw-nat].flow_rules[id=fwd-0].priority).
  - The agent validates the rest (C(must) rules, port references, node capabilities). A
    refusal fails the task with every rpc-error of the reply - error-tag, error-path,
    message - and the path in module options. An interface already used by another graph
    is reported on the graph of the task, naming the graph that holds the interface.
  - The edit-config sent is in RV(commands); RV(rpcs) lists the NETCONF operations the task
    issued.
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
    description:
      - The service graphs.
    type: list
    elements: dict
    suboptions:
      name:
        description: Graph name, unique on the CPE.
        type: str
        required: true
      description:
        description: Free-text description.
        type: str
      admin_state:
        description: C(disabled) keeps the graph in the configuration without deploying it.
        type: str
        choices: [enabled, disabled]
      nfs:
        description:
          - Network function instances (YANG C(nf)).
          - With O(state=merged), NFs merge by O(config[].nfs[].id), and their ports and
            parameters merge by name.
        type: list
        elements: dict
        suboptions:
          id:
            description: NF instance identifier, unique in the graph.
            type: str
            required: true
          functional_type:
            description:
              - Function type (for example C(firewall), C(nat)); the CPE picks a template.
              - Mutually exclusive with O(config[].nfs[].template).
            type: str
          template:
            description: Name of the template to run.
            type: str
          flavour:
            description: Requested implementation flavour (YANG default C(any)).
            type: str
            choices: [native, docker, vm, any]
          admin_state:
            description: C(paused) freezes the NF's processes (YANG default C(running)).
            type: str
            choices: [running, paused]
          ports:
            description: Named ports of the NF, for example C(in) and C(out).
            type: list
            elements: dict
            suboptions:
              name:
                description: Port name.
                type: str
                required: true
              description:
                description: Free-text description.
                type: str
          config_parameters:
            description: Parameters passed to the NF, as the template defines them.
            type: list
            elements: dict
            suboptions:
              name:
                description: Parameter name.
                type: str
                required: true
              value:
                description: Parameter value, as a string.
                type: str
      endpoints:
        description: Where traffic enters or leaves the graph (YANG C(endpoint)).
        type: list
        elements: dict
        suboptions:
          id:
            description: Endpoint identifier, unique in the graph.
            type: str
            required: true
          interface:
            description: A CPE interface, used untagged (one graph per interface).
            type: str
          vlan:
            description: One VLAN on a CPE interface.
            type: dict
            suboptions:
              interface:
                description: The interface carrying the VLAN.
                type: str
              vlan_id:
                description: VLAN identifier, 1 to 4094.
                type: int
          vxlan:
            description: A VXLAN tunnel.
            type: dict
            suboptions:
              remote:
                description: Remote tunnel address.
                type: str
              vni:
                description: VXLAN network identifier.
                type: int
              local:
                description: Local tunnel address.
                type: str
              dst_port:
                description: UDP destination port (YANG default 4789).
                type: int
              interface:
                description: Underlay interface.
                type: str
          internal_group:
            description: Joins endpoints of different graphs with the same group.
            type: str
      flow_rules:
        description:
          - Traffic steering rules (YANG C(flow-rule)). Ports are written
            C(endpoint:<id>) or C(nf:<nf-id>:<port>).
          - With O(state=merged), a rule's O(config[].flow_rules[].actions.output) list
            replaces the one on the device.
        type: list
        elements: dict
        suboptions:
          id:
            description: Rule identifier, unique in the graph.
            type: str
            required: true
          priority:
            description: Rule priority; higher wins.
            type: int
          match:
            description: Match fields; absent fields match anything.
            type: dict
            suboptions:
              port_in:
                description: Port the packets come from.
                type: str
              ether_type:
                description: Ethernet type, in decimal (2048 IPv4, 34525 IPv6).
                type: int
              vlan_id:
                description: VLAN identifier of tagged packets.
                type: int
              source_mac:
                description: Source MAC address.
                type: str
              destination_mac:
                description: Destination MAC address.
                type: str
              source_ipv4:
                description: Source IPv4 prefix.
                type: str
              destination_ipv4:
                description: Destination IPv4 prefix.
                type: str
              source_ipv6:
                description: Source IPv6 prefix.
                type: str
              destination_ipv6:
                description: Destination IPv6 prefix.
                type: str
              ip_protocol:
                description: IP protocol (6 TCP, 17 UDP, 132 SCTP).
                type: int
              source_port:
                description: Transport source port.
                type: int
              destination_port:
                description: Transport destination port.
                type: int
              dscp:
                description: DSCP value.
                type: int
          actions:
            description: What happens to matching packets.
            type: dict
            suboptions:
              output:
                description: Ports the packets are sent to.
                type: list
                elements: str
              drop:
                description: Drop the packets.
                type: bool
              set_source_mac:
                description: Rewrite the source MAC address.
                type: str
              set_destination_mac:
                description: Rewrite the destination MAC address.
                type: str
              set_source_ipv4:
                description: Rewrite the source IPv4 address.
                type: str
              set_destination_ipv4:
                description: Rewrite the destination IPv4 address.
                type: str
              set_source_ipv6:
                description: Rewrite the source IPv6 address.
                type: str
              set_destination_ipv6:
                description: Rewrite the destination IPv6 address.
                type: str
"""

EXAMPLES = r"""
- name: Push a firewall -> NAT chain, rolled back by the CPE unless it deploys
  nnfv.cpe.service_graph:
    confirm_timeout: 120
    config:
      - name: fw-nat
        nfs:
          - id: fw
            functional_type: firewall
            ports: [{name: in}, {name: out}]
            config_parameters:
              - {name: allow-tcp-ports, value: "22,443"}
          - id: nat
            functional_type: nat
            ports: [{name: in}, {name: out}]
            config_parameters:
              - {name: in-address, value: 192.0.2.1/24}
              - {name: out-address, value: 198.51.100.2/24}
        endpoints:
          - {id: lan, interface: lan0}
          - {id: wan, interface: wan0}
        # LAN -> firewall -> NAT -> WAN, and the way back
        flow_rules:
          - id: fwd-0
            priority: 100
            match: {port_in: "endpoint:lan"}
            actions: {output: ["nf:fw:in"]}
          - id: rev-0
            priority: 100
            match: {port_in: "nf:fw:in"}
            actions: {output: ["endpoint:lan"]}
          - id: fwd-1
            priority: 100
            match: {port_in: "nf:fw:out"}
            actions: {output: ["nf:nat:in"]}
          - id: rev-1
            priority: 100
            match: {port_in: "nf:nat:in"}
            actions: {output: ["nf:fw:out"]}
          - id: fwd-2
            priority: 100
            match: {port_in: "nf:nat:out"}
            actions: {output: ["endpoint:wan"]}
          - id: rev-2
            priority: 100
            match: {port_in: "endpoint:wan"}
            actions: {output: ["nf:nat:out"]}

- name: Open one more port on the firewall (only this NF changes)
  nnfv.cpe.service_graph:
    config:
      - name: fw-nat
        nfs:
          - id: fw
            config_parameters: [{name: allow-tcp-ports, value: "22,443,8443"}]

- name: Preview a change without touching the CPE
  nnfv.cpe.service_graph:
    config: "{{ graphs }}"
    state: overridden
  check_mode: true
  diff: true

- name: Remove one flow rule of a graph
  nnfv.cpe.service_graph:
    state: deleted
    config:
      - name: fw-nat
        flow_rules: [{id: fwd-0}]

- name: Remove every graph
  nnfv.cpe.service_graph:
    state: deleted

- name: Read the running graphs
  nnfv.cpe.service_graph:
    state: gathered
  register: running

- name: The edit-config XML of a graph, without a device
  nnfv.cpe.service_graph:
    state: rendered
    config: "{{ graphs }}"
  delegate_to: localhost
"""

RETURN = r"""
before:
  description: The running graphs before the task (normalised).
  returned: when O(state) is merged, replaced, overridden or deleted
  type: list
  elements: dict
  sample: [{name: fw-nat, nfs: [{id: fw, functional_type: firewall}]}]
after:
  description:
    - The graphs after the task, read from the device; in check mode, read from the edited
      candidate before it was discarded.
  returned: when changed
  type: list
  elements: dict
commands:
  description: The edit-config C(<config>) sent (or, in check mode, that would be committed).
  returned: when O(state) is merged, replaced, overridden or deleted
  type: list
  elements: str
  sample: ['<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">...</config>']
changes:
  description: Path-level changes, for example C(graph[fw-nat]/nf[fw]) changed, with fields.
  returned: when O(state) is merged, replaced, overridden or deleted
  type: list
  elements: dict
  sample: [{path: "graph[fw-nat]/nf[fw]", change: changed,
            fields: ["config_parameters[allow-tcp-ports].value: '22' -> '22,80'"]}]
status:
  description: Deployment status of each pushed graph after the commit.
  returned: when changed with O(confirm_timeout) > 0, outside check mode
  type: dict
  sample: {fw-nat: {state: deployed, error: null, nfs: {fw: {state: running}}}}
plan:
  description: The operations the agent would run for the commit (check mode only).
  returned: when changed in check mode
  type: list
  elements: str
  sample: ["createLSI fw-nat", "createNF fw-nat/fw", "startNF fw-nat/fw"]
pending_confirm:
  description: True when the confirmed commit was left unconfirmed (O(confirm=false)).
  returned: when O(confirm=false) and changed
  type: bool
gathered:
  description: The running graphs.
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: The edit-config XML of O(config).
  returned: when O(state=rendered)
  type: str
parsed:
  description: The graphs of O(running_config).
  returned: when O(state=parsed)
  type: list
  elements: dict
rpcs:
  description: The NETCONF operations this task issued, in order.
  returned: when the device was contacted
  type: list
  elements: str
  sample: [get-config, lock, edit-config, commit, get, commit, unlock]
rpc_error:
  description: The first rpc-error of a refused operation (error_tag, error_path, option_path,
    error_message, ...).
  returned: on failure caused by an rpc-error
  type: dict
rpc_errors:
  description: Every rpc-error of the refused operation, each as in RV(rpc_error); the task's
    message shows them all.
  returned: on failure caused by an rpc-error
  type: list
  elements: dict
missing_options:
  description: The mandatory options the given graphs lack, as option paths with keys.
  returned: on failure because of missing mandatory options
  type: list
  elements: str
  sample: ["config[name=fw-nat].flow_rules[id=fwd-0].priority"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.argspec.common import (
    REQUIRED_IF,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.argspec.service_graph import (
    ARGUMENT_SPEC,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.config.service_graph import (
    ServiceGraphs,
)


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_if=REQUIRED_IF,
        mutually_exclusive=[["config", "running_config"]],
        supports_check_mode=True,
    )
    ServiceGraphs(module).run()


if __name__ == "__main__":
    main()
