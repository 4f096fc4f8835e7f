"""Checks of the nnfv YANG modules, the vendored IETF modules and the examples.

Two independent validators are used: pyang (from this interpreter's venv) for
the module text, and yanglint (libyang, from PATH) for modules and instance data.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
YANG = REPO / "yang"
IETF = YANG / "ietf"
EXAMPLES = YANG / "examples"
INVALID = EXAMPLES / "invalid"
LIBYANG_BUILTIN = Path("/usr/share/yang/modules/libyang")

PYANG = Path(sys.executable).parent / "pyang"
YANGLINT = shutil.which("yanglint")

REVISION = "2026-11-22"
MODULES = {
    "nnfv-service-graph": ("urn:nnfv:yang:nnfv-service-graph", "nfg"),
    "nnfv-nnf-template": ("urn:nnfv:yang:nnfv-nnf-template", "nnft"),
    "nnfv-node": ("urn:nnfv:yang:nnfv-node", "node"),
    "nnfv-agent": ("urn:nnfv:yang:nnfv-agent", "nnfva"),
}
MODULE_FILES = [YANG / f"{name}.yang" for name in MODULES]

VENDORED = {
    "ietf-netconf",
    "ietf-netconf-acm",
    "ietf-netconf-with-defaults",
    "ietf-netconf-monitoring",
    "ietf-netconf-notifications",
    "ietf-netconf-nmda",
    "ietf-origin",
    "ietf-inet-types",
    "ietf-yang-types",
    "notifications",
    "nc-notifications",
}

VALID_EXAMPLES = sorted(EXAMPLES.glob("*.xml"))
INVALID_EXAMPLES = sorted(INVALID.glob("*.xml"))

# Expected error text for each invalid example: the problem must be named.
INVALID_EXPECTED = {
    "graph-dangling-port.xml": "port-in: no such endpoint in this graph",
    "graph-bad-vlan.xml": 'value "5000" is out of the allowed range',
    "graph-missing-priority.xml": 'Mandatory node "priority" instance does not exist',
}


def run(cmd: list[str | Path]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(c) for c in cmd],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def yanglint(*args: str | Path) -> subprocess.CompletedProcess:
    assert YANGLINT, "yanglint not found in PATH (Debian package libyang-tools)"
    return run([YANGLINT, "-p", YANG, "-p", IETF, *args])


# The agent loads ietf-netconf-acm beside its modules: the NACM examples are its data.
NACM_MODULE = IETF / "ietf-netconf-acm@2018-02-14.yang"


def validate(data: Path, data_type: str = "config") -> subprocess.CompletedProcess:
    # (only for config: as state data, ietf-netconf-acm wants its counters)
    extra = [NACM_MODULE] if data_type == "config" else []
    return yanglint("-t", data_type, *MODULE_FILES, *extra, data)


def test_module_files_exist_with_expected_names():
    assert sorted(p.name for p in YANG.glob("nnfv-*.yang")) == sorted(
        f"{name}.yang" for name in MODULES
    )


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_header_has_namespace_prefix_and_revision(name):
    text = (YANG / f"{name}.yang").read_text()
    namespace, prefix = MODULES[name]
    assert re.search(rf"^module {re.escape(name)} \{{", text, re.MULTILINE)
    assert re.search(r"^\s*yang-version 1\.1;", text, re.MULTILINE)
    assert f'namespace "{namespace}";' in text
    assert re.search(rf"^\s*prefix {prefix};", text, re.MULTILINE)
    revisions = re.findall(r"^\s*revision (\S+) \{", text, re.MULTILINE)
    assert revisions[0] == REVISION
    assert 'organization\n    "nnfv";' in text


def test_modules_pass_pyang_strict_lint_without_warnings():
    result = run([PYANG, "--strict", "--lint", "-p", YANG, "-p", IETF, *MODULE_FILES])
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout == ""
    assert result.stderr == ""


def test_modules_load_in_yanglint_without_messages():
    result = yanglint(*MODULE_FILES)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""


def tree() -> str:
    result = run([PYANG, "-f", "tree", "-p", YANG, "-p", IETF, *MODULE_FILES])
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    "line",
    [
        "+--rw graphs",
        "+--rw graph* [name]",
        "+--rw nf* [id]",
        "+--rw (implementation)",
        "+--rw flavour?                 enumeration",
        "+--rw config-parameter* [name]",
        "+--rw endpoint* [id]",
        "+--rw vlan!",
        "+--rw vxlan!",
        "+--rw internal-group?   string",
        "+--rw flow-rule* [id]",
        "+--rw priority    uint32",
        "+--rw port-in             port-ref",
        "+--rw output*                 port-ref",
        "+--rw drop?                   empty",
        "+--ro counters",
        "+--ro port-status* [name]",
        "+--rw templates",
        "+--ro shipped-templates",
        "+--rw dependency* [kind name]",
        "+--rw lifecycle-management-script* [event]",
        "+--rw parameter* [name]",
        "+--rw node",
        "+--rw allowed-interface*   interface-name",
        "+--ro function* [functional-type]",
        "+--ro kernel-feature* [name]",
        "+--ro committed",
    ],
)
def test_schema_tree_contains_node_the_agent_relies_on(line):
    assert line in tree()


def test_vendored_ietf_directory_holds_exactly_the_expected_modules():
    names = {}
    for path in IETF.glob("*.yang"):
        module, _, revision = path.stem.partition("@")
        text = path.read_text()
        assert re.search(rf"^module {re.escape(module)} \{{", text, re.MULTILINE), path.name
        first_revision = re.search(r"^\s*revision \"?([0-9-]{10})\"? \{", text, re.MULTILINE)
        assert first_revision and first_revision.group(1) == revision, path.name
        names[module] = revision
    assert set(names) == VENDORED


def test_vendored_ietf_modules_load_together_in_yanglint():
    # -y loads libyang's internal ietf-yang-library, which brings the built-in
    # ietf-datastores that ietf-netconf-nmda imports (as an agent context does).
    result = yanglint("-y", *sorted(IETF.glob("*.yang")), *MODULE_FILES)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.skipif(not LIBYANG_BUILTIN.is_dir(), reason="libyang modules not installed")
@pytest.mark.parametrize("module", ["ietf-inet-types", "ietf-yang-types"])
def test_vendored_type_module_is_identical_to_libyang_builtin(module):
    vendored = IETF / f"{module}@2013-07-15.yang"
    builtin = LIBYANG_BUILTIN / f"{module}@2013-07-15.yang"
    assert vendored.read_bytes() == builtin.read_bytes()


def test_there_are_valid_and_invalid_examples():
    names = {p.name for p in VALID_EXAMPLES}
    assert {
        "graph-passthrough.xml",
        "graph-firewall-nat.xml",
        "graph-split-http.xml",
        "graphs-internal.xml",
        "template-firewall.xml",
    } <= names
    assert {p.name for p in INVALID_EXAMPLES} == set(INVALID_EXPECTED)


@pytest.mark.parametrize("example", VALID_EXAMPLES, ids=lambda p: p.name)
def test_valid_example_validates_with_yanglint(example):
    result = validate(example)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize("example", INVALID_EXAMPLES, ids=lambda p: p.name)
def test_invalid_example_is_rejected_by_yanglint(example):
    result = validate(example)
    assert result.returncode != 0
    assert INVALID_EXPECTED[example.name] in result.stderr


def mutate(example: str, replacements: list[tuple[str, str]], tmp_path: Path) -> Path:
    """Copy an example to tmp_path, replacing the first occurrence of each anchor."""
    text = (EXAMPLES / example).read_text()
    for old, new in replacements:
        assert old in text, f"mutation anchor not found in {example}: {old!r}"
        text = text.replace(old, new, 1)
    path = tmp_path / example
    path.write_text(text)
    return path


FWNAT = "graph-firewall-nat.xml"
FIRST_OUTPUT = "<output>nf:fw:in</output>"
FIRST_MATCH = "<port-in>endpoint:lan</port-in>"
TEMPLATE = "template-firewall.xml"

REJECTED = {
    "dangling-nf-port-in": (FWNAT, "<port-in>nf:fw:out</port-in>", "<port-in>nf:fw:x</port-in>", "port-in: no such NF port in this graph"),
    "dangling-output-endpoint": (FWNAT, FIRST_OUTPUT, "<output>endpoint:dmz</output>", "output: no such endpoint in this graph"),
    "dangling-output-nf": (FWNAT, FIRST_OUTPUT, "<output>nf:ids:in</output>", "output: no such NF port in this graph"),
    "malformed-port-ref": (FWNAT, FIRST_OUTPUT, "<output>fw:in</output>", 'Unsatisfied pattern - "fw:in"'),
    "l4-port-without-protocol": (FWNAT, FIRST_MATCH, FIRST_MATCH + "<destination-port>80</destination-port>", "destination-port requires ip-protocol 6 (TCP), 17 (UDP) or 132 (SCTP)"),
    "l4-port-with-icmp": (FWNAT, FIRST_MATCH, FIRST_MATCH + "<ip-protocol>1</ip-protocol><source-port>80</source-port>", "source-port requires ip-protocol"),
    "ipv4-and-ipv6": (FWNAT, FIRST_MATCH, FIRST_MATCH + "<source-ipv4>10.0.0.0/8</source-ipv4><destination-ipv6>2001:db8::/32</destination-ipv6>", "IPv4 and IPv6 fields are mutually exclusive"),
    "ipv4-with-arp-ether-type": (FWNAT, FIRST_MATCH, FIRST_MATCH + "<ether-type>2054</ether-type><source-ipv4>10.0.0.0/8</source-ipv4>", "IPv4 fields require ether-type 2048"),
    "drop-and-output": (FWNAT, FIRST_OUTPUT, FIRST_OUTPUT + "<drop/>", "drop cannot be combined with output"),
    "no-action": (FWNAT, FIRST_OUTPUT, "", "flow-rule needs an action"),
    "set-ipv4-without-ipv4-match": (FWNAT, FIRST_OUTPUT, FIRST_OUTPUT + "<set-source-ipv4>192.0.2.1</set-source-ipv4>", "set-source-ipv4 requires a match on IPv4"),
    "interface-name-too-long": (FWNAT, "<interface>veth-wan</interface>", "<interface>veth-wan-0123456789</interface>", "length is not allowed"),
    "same-interface-twice-in-graph": (FWNAT, "<interface>veth-wan</interface>", "<interface>veth-lan</interface>", 'Unique data leaf(s) "type/interface/interface"'),
    "endpoint-without-type": (FWNAT, "<interface>veth-wan</interface>", "", 'Mandatory choice "type"'),
    "nf-without-implementation": (FWNAT, "<functional-type>nat</functional-type>", "", 'Mandatory choice "implementation"'),
    "vxlan-without-vni": (FWNAT, "<interface>veth-wan</interface>", "<vxlan><remote>192.0.2.1</remote></vxlan>", 'Mandatory node "vni"'),
    "vxlan-vni-too-big": (FWNAT, "<interface>veth-wan</interface>", "<vxlan><remote>192.0.2.1</remote><vni>16777216</vni></vxlan>", "out of the allowed range"),
    "template-without-stop-script": (TEMPLATE, "<event>stop</event>", "<event>pause</event>", "a lifecycle-management-script for event 'stop' is required"),
    "template-absolute-script": (TEMPLATE, "scripts/start.sh", "/bin/start.sh", 'does not conform to "[^/].*"'),
    "template-script-escapes-archive": (TEMPLATE, "scripts/start.sh", "scripts/../../start.sh", "does not conform to inverted"),
    "template-bad-sha256": (TEMPLATE, "<sha256>9f86", "<sha256>zz86", 'does not conform to "[0-9a-fA-F]{64}"'),
    "template-memory-limit-below-need": (TEMPLATE, "<memory-limit>33554432</memory-limit>", "<memory-limit>1024</memory-limit>", "memory-limit must not be lower than memory"),
    "template-duplicate-port-index": (TEMPLATE, "<index>1</index>", "<index>0</index>", 'Unique data leaf(s) "index"'),
    "template-mandatory-parameter-with-default": (TEMPLATE, "<type>boolean</type>", "<type>boolean</type><mandatory>true</mandatory>", "a mandatory parameter cannot have a default"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_mutated_example_is_rejected_with_clear_message(case, tmp_path):
    example, old, new, message = REJECTED[case]
    result = validate(mutate(example, [(old, new)], tmp_path))
    assert result.returncode != 0
    assert message in result.stderr


ACCEPTED = {
    "two-outputs": (FWNAT, [(FIRST_OUTPUT, FIRST_OUTPUT + "<output>nf:nat:in</output>")]),
    "drop-only": (FWNAT, [(FIRST_OUTPUT, "<drop/>")]),
    "udp-port-match": (FWNAT, [(FIRST_MATCH, FIRST_MATCH + "<ip-protocol>17</ip-protocol><destination-port>53</destination-port>")]),
    "ipv6-match-and-rewrite": (FWNAT, [
        (FIRST_MATCH, FIRST_MATCH + "<destination-ipv6>2001:db8::/64</destination-ipv6>"),
        (FIRST_OUTPUT, FIRST_OUTPUT + "<set-destination-ipv6>2001:db8::1</set-destination-ipv6>"),
    ]),
    "vxlan-endpoint": (FWNAT, [("<interface>veth-wan</interface>", "<vxlan><remote>192.0.2.1</remote><vni>42</vni></vxlan>")]),
    "vlan-endpoint": (FWNAT, [("<interface>veth-wan</interface>", "<vlan><interface>eth0</interface><vlan-id>100</vlan-id></vlan>")]),
    "template-by-name": (FWNAT, [("<functional-type>nat</functional-type>", "<template>nnf-nat</template>")]),
    "sharable-template": (TEMPLATE, [("<sharable>false</sharable>", "<sharable>true</sharable>")]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_mutated_example_is_still_valid(case, tmp_path):
    example, replacements = ACCEPTED[case]
    result = validate(mutate(example, replacements, tmp_path))
    assert result.returncode == 0, result.stderr


GRAPH_STATE = """
<graphs xmlns="urn:nnfv:yang:nnfv-service-graph">
  <graph>
    <name>g</name>
    <nf>
      <id>fw</id>
      <functional-type>firewall</functional-type>
      <port><name>in</name></port>
      <status>
        <state>running</state>
        <flavour>native</flavour>
        <template>nnf-firewall</template>
        <namespace>nnfv-g-fw</namespace>
        <port-status>
          <name>in</name>
          <interface>in</interface>
          <lsi-interface>l-g-fw-0</lsi-interface>
        </port-status>
        <pid>1234</pid>
        <start-time>2026-11-22T10:00:00Z</start-time>
      </status>
    </nf>
    <endpoint><id>lan</id><interface>veth-lan</interface></endpoint>
    <flow-rule>
      <id>r</id>
      <priority>1</priority>
      <match><port-in>endpoint:lan</port-in></match>
      <actions><output>nf:fw:in</output></actions>
      <counters><packets>10</packets><bytes>1500</bytes></counters>
    </flow-rule>
    <status>
      <state>deployed</state>
      <last-change>2026-11-22T10:00:00Z</last-change>
    </status>
  </graph>
</graphs>
"""

NODE_STATE = """
<node xmlns="urn:nnfv:yang:nnfv-node">
  <allowed-interface>veth-lan</allowed-interface>
  <accelerator><name>qat0</name><kind>crypto</kind></accelerator>
  <capabilities>
    <functional>
      <function>
        <functional-type>firewall</functional-type>
        <flavour>native</flavour>
        <ready>true</ready>
        <template>nnf-firewall</template>
      </function>
    </functional>
    <infrastructural>
      <cpu-architecture>x86_64</cpu-architecture>
      <cpu-count>2</cpu-count>
      <execution-environment>native</execution-environment>
      <kernel-feature><name>vlan</name><available>false</available></kernel-feature>
      <executable><name>nft</name><path>/usr/sbin/nft</path><available>true</available></executable>
    </infrastructural>
  </capabilities>
  <resources>
    <memory-total>1073741824</memory-total>
    <memory-free>536870912</memory-free>
    <load-average-1>0.25</load-average-1>
    <committed><memory>8388608</memory><cpu-weight>100</cpu-weight></committed>
  </resources>
</node>
"""


@pytest.mark.parametrize("name,xml", [("graph", GRAPH_STATE), ("node", NODE_STATE)])
def test_operational_state_validates_as_data_but_not_as_config(name, xml, tmp_path):
    path = tmp_path / f"{name}.xml"
    path.write_text(xml)
    as_data = validate(path, "data")
    assert as_data.returncode == 0, as_data.stderr
    as_config = validate(path, "config")
    assert as_config.returncode != 0
    assert "Unexpected data state node" in as_config.stderr
