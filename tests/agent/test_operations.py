"""RFC 6241 base operations against a real agent: edit-config, copy/delete-config, commit,
discard-changes, validate, get, get-config and RFC 6243 with-defaults."""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from support.agentproc import EXAMPLES, example_config
from support.clients import RawClient, ncclient_connect
from support.replies import assert_ok, field, parse_reply, rpc_errors

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NFG = "urn:nnfv:yang:nnfv-service-graph"
NNFT = "urn:nnfv:yang:nnfv-nnf-template"
NODE = "urn:nnfv:yang:nnfv-node"
NCM = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
WD = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
WD_ATTR = "urn:ietf:params:xml:ns:netconf:default:1.0"  # RFC 6243 section 6: wd:default
NS = {"nc": NC, "nfg": NFG, "nnft": NNFT, "node": NODE, "ncm": NCM}

VALID_EXAMPLES = sorted(p.name for p in EXAMPLES.glob("*.xml"))
FW = "fw-nat"
FW_GRAPH = f"nfg:graphs/nfg:graph[nfg:name='{FW}']"
DANGLING_RULE = (
    "<flow-rule><id>x</id><priority>5</priority>"
    "<match><port-in>endpoint:nope</port-in></match>"
    "<actions><output>endpoint:wan</output></actions></flow-rule>"
)
_NOCOMMENTS = etree.XMLParser(remove_comments=True, remove_blank_text=True)


# ---- helpers ----------------------------------------------------------------------------


def graph(name: str, inner: str = "", attrs: str = "") -> str:
    return f'<graphs xmlns="{NFG}"><graph{attrs}><name>{name}</name>{inner}</graph></graphs>'


def edit(
    raw: RawClient,
    body: str,
    target: str = "candidate",
    *,
    default_operation: str | None = None,
    test_option: str | None = None,
    error_option: str | None = None,
) -> str:
    opts = ""
    if default_operation:
        opts += f"<default-operation>{default_operation}</default-operation>"
    if test_option:
        opts += f"<test-option>{test_option}</test-option>"
    if error_option:
        opts += f"<error-option>{error_option}</error-option>"
    return raw.rpc(
        f"<edit-config><target><{target}/></target>{opts}"
        f'<config xmlns="{NC}" xmlns:nc="{NC}">{body}</config></edit-config>'
    )


def get_config(
    raw: RawClient, source: str = "running", *, with_defaults: str | None = None
) -> etree._Element:
    wd = f'<with-defaults xmlns="{WD}">{with_defaults}</with-defaults>' if with_defaults else ""
    text = raw.rpc(f"<get-config><source><{source}/></source>{wd}</get-config>")
    data = parse_reply(text).find(f"{{{NC}}}data")
    assert data is not None, text
    return data


def canonical(el: etree._Element) -> tuple:
    """Order-insensitive form of a tree: (tag, text, sorted children)."""
    children = tuple(sorted(canonical(c) for c in el if isinstance(c.tag, str)))
    return (el.tag, "" if children else (el.text or "").strip(), children)


def content(data: etree._Element) -> tuple:
    return canonical(data)[2]


def values(data: etree._Element, xpath: str) -> list[str]:
    return [str(v).strip() for v in data.xpath(xpath, namespaces=NS)]


def example_tree(name: str) -> etree._Element:
    return etree.parse(str(EXAMPLES / name), _NOCOMMENTS).getroot()


def load_running(raw: RawClient, *examples: str) -> etree._Element:
    for name in examples:
        assert_ok(
            raw.rpc(f"<edit-config><target><running/></target>{example_config(name)}</edit-config>")
        )
    return get_config(raw, "running")


def resolve_error_path(data: etree._Element, err: etree._Element) -> list[etree._Element]:
    """Evaluate an rpc-error's error-path, with the prefixes declared on it, against `data`."""
    path_el = err.find(f"{{{NC}}}error-path")
    assert path_el is not None, etree.tostring(err)
    nsmap = {k: v for k, v in path_el.nsmap.items() if k}
    hits: list[etree._Element] = []
    for top in data:
        hits += etree.ElementTree(copy.deepcopy(top)).xpath(path_el.text.strip(), namespaces=nsmap)
    return hits


# ---- edit-config, commit and read back ----------------------------------------------------


def test_edit_candidate_commit_and_get_config_running_returns_the_graph(agent):
    with ncclient_connect(agent) as m:
        m.edit_config(target="candidate", config=example_config("graph-firewall-nat.xml"))
        before_commit = etree.fromstring(m.get_config(source="running").data_xml.encode())
        m.commit()
        data = etree.fromstring(m.get_config(source="running").data_xml.encode())
    assert values(before_commit, "nfg:graphs/nfg:graph/nfg:name/text()") == []
    assert values(data, "nfg:graphs/nfg:graph/nfg:name/text()") == [FW]
    assert values(data, f"{FW_GRAPH}/nfg:nf/nfg:id/text()") == ["fw", "nat"]
    assert len(data.xpath(f"{FW_GRAPH}/nfg:flow-rule", namespaces=NS)) == 6


@pytest.mark.parametrize("example", VALID_EXAMPLES)
def test_valid_example_round_trips_through_candidate_and_commit(agent, example):
    with ncclient_connect(agent) as m:
        m.edit_config(target="candidate", config=example_config(example))
        m.commit()
        data = etree.fromstring(m.get_config(source="running").data_xml.encode())
    assert content(data) == (canonical(example_tree(example)),)


# ---- edit-config operations ----------------------------------------------------------------


def test_merge_changes_a_flow_rule_priority_and_keeps_everything_else(raw):
    expected = load_running(raw, "graph-firewall-nat.xml")
    assert_ok(
        edit(raw, graph(FW, "<flow-rule><id>lan-to-fw</id><priority>500</priority></flow-rule>"))
    )
    after = get_config(raw, "candidate")
    assert values(after, f"{FW_GRAPH}/nfg:flow-rule[nfg:id='lan-to-fw']/nfg:priority/text()") == [
        "500"
    ]
    expected.xpath(f"{FW_GRAPH}/nfg:flow-rule[nfg:id='lan-to-fw']/nfg:priority", namespaces=NS)[
        0
    ].text = "500"
    assert canonical(after) == canonical(expected)
    assert content(get_config(raw, "running")) != content(after)  # only the candidate changed


def test_merge_adds_a_new_flow_rule_to_an_existing_graph(raw):
    load_running(raw, "graph-firewall-nat.xml")
    rule = (
        "<flow-rule><id>lan-drop</id><priority>1</priority>"
        "<match><port-in>endpoint:lan</port-in></match><actions><drop/></actions></flow-rule>"
    )
    assert_ok(edit(raw, graph(FW, rule)))
    after = get_config(raw, "candidate")
    assert len(after.xpath(f"{FW_GRAPH}/nfg:flow-rule", namespaces=NS)) == 7
    assert values(
        after, f"{FW_GRAPH}/nfg:flow-rule[nfg:id='lan-drop']/nfg:match/nfg:port-in/text()"
    ) == ["endpoint:lan"]
    assert_ok(raw.rpc("<commit/>"))


def test_replace_of_an_nf_replaces_the_whole_entry(raw):
    before = load_running(raw, "graph-firewall-nat.xml")
    new_fw = (
        "<nf nc:operation='replace'><id>fw</id><functional-type>firewall-v2</functional-type>"
        "<port><name>in</name></port><port><name>out</name></port></nf>"
    )
    assert_ok(edit(raw, graph(FW, new_fw)))
    after = get_config(raw, "candidate")
    fw = after.xpath(f"{FW_GRAPH}/nfg:nf[nfg:id='fw']", namespaces=NS)
    assert len(fw) == 1
    expected_fw = etree.fromstring(
        f'<nf xmlns="{NFG}"><id>fw</id><functional-type>firewall-v2</functional-type>'
        "<port><name>in</name></port><port><name>out</name></port></nf>"
    )
    # flavour, port descriptions and config-parameter of the old entry are gone
    assert canonical(fw[0]) == canonical(expected_fw)
    nat = f"{FW_GRAPH}/nfg:nf[nfg:id='nat']"
    assert canonical(after.xpath(nat, namespaces=NS)[0]) == canonical(
        before.xpath(nat, namespaces=NS)[0]
    )
    assert_ok(raw.rpc("<commit/>"))


def test_merge_of_the_other_choice_case_replaces_the_previous_case(raw):
    # RFC 7950 7.9: creating a node of one case deletes the nodes of the other cases.
    load_running(raw, "graph-firewall-nat.xml")
    assert_ok(edit(raw, graph(FW, "<nf><id>fw</id><template>nnf-firewall</template></nf>")))
    after = get_config(raw, "candidate")
    fw = f"{FW_GRAPH}/nfg:nf[nfg:id='fw']"
    assert values(after, f"{fw}/nfg:template/text()") == ["nnf-firewall"]
    assert values(after, f"{fw}/nfg:functional-type/text()") == []
    assert_ok(raw.rpc("<validate><source><candidate/></source></validate>"))


def test_create_of_a_new_graph_adds_it(raw):
    load_running(raw, "graph-firewall-nat.xml")
    assert_ok(
        edit(raw, graph("extra", "<description>new</description>", attrs=" nc:operation='create'"))
    )
    after = get_config(raw, "candidate")
    assert values(after, "nfg:graphs/nfg:graph/nfg:name/text()") == [FW, "extra"]


def test_create_of_an_existing_graph_returns_data_exists_pointing_to_that_graph(raw):
    before = load_running(raw, "graph-firewall-nat.xml")
    reply = edit(raw, graph(FW, "<description>dup</description>", attrs=" nc:operation='create'"))
    (err,) = rpc_errors(reply)
    assert field(err, "error-type") == "application"
    assert field(err, "error-tag") == "data-exists"
    assert field(err, "error-path") == f"/nfg:graphs/nfg:graph[nfg:name='{FW}']"
    hits = resolve_error_path(before, err)
    assert [values(h, "nfg:name/text()") for h in hits] == [[FW]]
    assert canonical(get_config(raw, "candidate")) == canonical(before)


def test_delete_of_an_existing_flow_rule_removes_it(raw):
    load_running(raw, "graph-firewall-nat.xml")
    assert_ok(
        edit(raw, graph(FW, "<flow-rule nc:operation='delete'><id>fw-to-lan</id></flow-rule>"))
    )
    after = get_config(raw, "candidate")
    ids = values(after, f"{FW_GRAPH}/nfg:flow-rule/nfg:id/text()")
    assert "fw-to-lan" not in ids and len(ids) == 5


def test_delete_of_a_missing_flow_rule_returns_data_missing(raw):
    before = load_running(raw, "graph-firewall-nat.xml")
    reply = edit(raw, graph(FW, "<flow-rule nc:operation='delete'><id>zzz</id></flow-rule>"))
    (err,) = rpc_errors(reply)
    assert field(err, "error-type") == "application"
    assert field(err, "error-tag") == "data-missing"
    assert field(err, "error-path") == (
        f"/nfg:graphs/nfg:graph[nfg:name='{FW}']/nfg:flow-rule[nfg:id='zzz']"
    )
    assert canonical(get_config(raw, "candidate")) == canonical(before)


def test_remove_of_a_missing_flow_rule_is_ok_and_changes_nothing(raw):
    before = load_running(raw, "graph-firewall-nat.xml")
    assert_ok(edit(raw, graph(FW, "<flow-rule nc:operation='remove'><id>zzz</id></flow-rule>")))
    assert canonical(get_config(raw, "candidate")) == canonical(before)


def test_remove_of_a_leaf_deletes_only_that_leaf(raw):
    before = load_running(raw, "graph-firewall-nat.xml")
    assert_ok(edit(raw, graph(FW, "<description nc:operation='remove'/>")))
    after = get_config(raw, "candidate")
    assert values(after, f"{FW_GRAPH}/nfg:description/text()") == []
    desc = before.xpath(f"{FW_GRAPH}/nfg:description", namespaces=NS)[0]
    desc.getparent().remove(desc)
    assert canonical(after) == canonical(before)


def test_delete_of_a_leaf_list_value_removes_only_that_value(raw):
    node = (
        f'<node xmlns="{NODE}"><allowed-interface>eth0</allowed-interface>'
        "<allowed-interface>eth1</allowed-interface></node>"
    )
    assert_ok(edit(raw, node, "running"))
    assert_ok(
        edit(
            raw,
            f'<node xmlns="{NODE}"><allowed-interface nc:operation="delete">eth1'
            "</allowed-interface></node>",
        )
    )
    assert values(get_config(raw, "candidate"), "node:node/node:allowed-interface/text()") == [
        "eth0"
    ]


# ---- default-operation ---------------------------------------------------------------------


def test_default_operation_none_applies_only_the_nested_delete(raw):
    before = load_running(raw, "graph-firewall-nat.xml")
    body = graph(
        FW,
        "<description>changed</description>"
        "<flow-rule nc:operation='delete'><id>fw-to-lan</id></flow-rule>",
    )
    assert_ok(edit(raw, body, default_operation="none"))
    after = get_config(raw, "candidate")
    rule = before.xpath(f"{FW_GRAPH}/nfg:flow-rule[nfg:id='fw-to-lan']", namespaces=NS)[0]
    rule.getparent().remove(rule)
    assert canonical(after) == canonical(before)  # description untouched, rule gone


def test_default_operation_none_with_data_but_no_operation_changes_nothing(raw):
    before = load_running(raw, "graph-firewall-nat.xml")
    body = (
        f'<graphs xmlns="{NFG}"><graph><name>{FW}</name><description>changed</description>'
        "<flow-rule><id>lan-to-fw</id><priority>99</priority></flow-rule></graph></graphs>"
    )
    assert_ok(edit(raw, body, default_operation="none"))
    assert canonical(get_config(raw, "candidate")) == canonical(before)


def test_default_operation_none_on_data_that_does_not_exist_returns_data_missing(raw):
    before = load_running(raw, "graph-firewall-nat.xml")
    body = f'<graphs xmlns="{NFG}"><graph><name>brand-new</name></graph></graphs>'
    err = rpc_errors(edit(raw, body, default_operation="none"))[0]
    assert field(err, "error-tag") == "data-missing"
    assert field(err, "error-path") == "/nfg:graphs/nfg:graph[nfg:name='brand-new']"
    assert "does not exist" in field(err, "error-message")
    assert canonical(get_config(raw, "candidate")) == canonical(before)


def test_xml_lang_on_a_config_leaf_is_accepted(raw):
    body = graph("lang", '<description xml:lang="en">with a language</description>')
    assert_ok(edit(raw, body))
    data = get_config(raw, "candidate")
    assert data.xpath("//nfg:graph[nfg:name='lang']/nfg:description/text()", namespaces=NS) == [
        "with a language"
    ]


def test_default_operation_replace_replaces_the_whole_datastore(raw):
    load_running(raw, "graph-firewall-nat.xml", "template-firewall.xml")
    node = f'<node xmlns="{NODE}"><allowed-interface>eth0</allowed-interface></node>'
    assert_ok(edit(raw, node, default_operation="replace"))
    after = get_config(raw, "candidate")
    assert content(after) == (canonical(etree.fromstring(node)),)


# ---- test-option -----------------------------------------------------------------------------


def test_test_only_with_a_valid_edit_returns_ok_and_changes_nothing(raw):
    before = load_running(raw, "graph-firewall-nat.xml")
    reply = edit(raw, graph(FW, "<description>tested</description>"), test_option="test-only")
    assert_ok(reply)
    assert canonical(get_config(raw, "candidate")) == canonical(before)
    assert canonical(get_config(raw, "running")) == canonical(before)


def test_test_only_with_an_invalid_edit_returns_an_error_and_changes_nothing(raw):
    before = load_running(raw, "graph-firewall-nat.xml")
    reply = edit(raw, graph(FW, DANGLING_RULE), test_option="test-only")
    errors = rpc_errors(reply)
    assert any("no such endpoint" in (field(e, "error-message") or "") for e in errors)
    assert canonical(get_config(raw, "candidate")) == canonical(before)


def test_test_then_set_applies_a_valid_edit(raw):
    load_running(raw, "graph-firewall-nat.xml")
    assert_ok(edit(raw, graph(FW, "<description>set</description>"), test_option="test-then-set"))
    assert values(get_config(raw, "candidate"), f"{FW_GRAPH}/nfg:description/text()") == ["set"]


def test_set_writes_the_candidate_and_commit_then_refuses_the_dangling_reference(raw):
    before = load_running(raw, "graph-firewall-nat.xml")
    assert_ok(edit(raw, graph(FW, DANGLING_RULE), test_option="set"))
    cand = get_config(raw, "candidate")
    assert values(cand, f"{FW_GRAPH}/nfg:flow-rule[nfg:id='x']/nfg:match/nfg:port-in/text()") == [
        "endpoint:nope"
    ]
    errors = rpc_errors(raw.rpc("<commit/>"))
    assert any("no such endpoint" in (field(e, "error-message") or "") for e in errors)
    assert canonical(get_config(raw, "running")) == canonical(before)


# ---- writable-running and error-option ------------------------------------------------------


def test_edit_config_on_running_applies_directly(raw):
    load_running(raw, "graph-firewall-nat.xml")
    assert_ok(edit(raw, graph(FW, "<description>direct</description>"), "running"))
    running = get_config(raw, "running")
    assert values(running, f"{FW_GRAPH}/nfg:description/text()") == ["direct"]
    assert canonical(get_config(raw, "candidate")) == canonical(running)


def test_edit_config_on_running_is_fully_validated_and_a_dangling_reference_is_refused(raw):
    before = load_running(raw, "graph-firewall-nat.xml")
    errors = rpc_errors(edit(raw, graph(FW, DANGLING_RULE), "running"))
    err = errors[0]
    assert field(err, "error-type") == "application"
    assert "no such endpoint" in field(err, "error-message")
    assert canonical(get_config(raw, "running")) == canonical(before)
    assert canonical(get_config(raw, "candidate")) == canonical(before)


@pytest.mark.parametrize(
    ("target", "bad"),
    [
        ("candidate", "<flow-rule><id>lan-to-fw</id><priority>abc</priority></flow-rule>"),
        ("running", DANGLING_RULE),
    ],
)
def test_rollback_on_error_with_one_valid_and_one_invalid_change_changes_nothing(raw, target, bad):
    before = load_running(raw, "graph-firewall-nat.xml")
    body = graph(FW, f"<description>valid change</description>{bad}")
    rpc_errors(edit(raw, body, target, error_option="rollback-on-error"))
    assert canonical(get_config(raw, target)) == canonical(before)
    assert canonical(get_config(raw, "running")) == canonical(before)


# ---- copy-config and delete-config -----------------------------------------------------------


def test_copy_config_running_to_startup_then_get_config_startup_returns_it(raw):
    running = load_running(raw, "graph-firewall-nat.xml", "template-firewall.xml")
    assert content(get_config(raw, "startup")) == ()
    assert_ok(
        raw.rpc("<copy-config><target><startup/></target><source><running/></source></copy-config>")
    )
    assert canonical(get_config(raw, "startup")) == canonical(running)


def test_copy_config_inline_config_to_candidate_replaces_the_candidate(raw):
    running = load_running(raw, "graph-firewall-nat.xml")
    inline = example_config("graph-passthrough.xml")
    assert_ok(
        raw.rpc(
            f"<copy-config><target><candidate/></target><source>{inline}</source></copy-config>"
        )
    )
    assert content(get_config(raw, "candidate")) == (
        canonical(example_tree("graph-passthrough.xml")),
    )
    assert canonical(get_config(raw, "running")) == canonical(running)


def test_copy_config_candidate_to_running_makes_running_equal_the_candidate(raw):
    load_running(raw, "graph-firewall-nat.xml")
    assert_ok(edit(raw, graph(FW, "<description>copied</description>")))
    candidate = get_config(raw, "candidate")
    assert_ok(
        raw.rpc(
            "<copy-config><target><running/></target><source><candidate/></source></copy-config>"
        )
    )
    running = get_config(raw, "running")
    assert canonical(running) == canonical(candidate)
    assert values(running, f"{FW_GRAPH}/nfg:description/text()") == ["copied"]


def test_delete_config_startup_empties_startup_only(raw):
    running = load_running(raw, "graph-firewall-nat.xml")
    assert_ok(
        raw.rpc("<copy-config><target><startup/></target><source><running/></source></copy-config>")
    )
    assert content(get_config(raw, "startup")) != ()
    assert_ok(raw.rpc("<delete-config><target><startup/></target></delete-config>"))
    assert content(get_config(raw, "startup")) == ()
    assert canonical(get_config(raw, "running")) == canonical(running)


def test_delete_config_running_is_refused(raw):
    running = load_running(raw, "graph-firewall-nat.xml")
    (err,) = rpc_errors(raw.rpc("<delete-config><target><running/></target></delete-config>"))
    assert field(err, "error-tag") in ("operation-not-supported", "invalid-value")
    assert canonical(get_config(raw, "running")) == canonical(running)


# ---- discard-changes and validate -------------------------------------------------------------


def test_discard_changes_reverts_the_candidate_to_running(raw):
    running = load_running(raw, "graph-firewall-nat.xml")
    assert_ok(
        edit(raw, graph(FW, "<flow-rule nc:operation='delete'><id>fw-to-lan</id></flow-rule>"))
    )
    assert canonical(get_config(raw, "candidate")) != canonical(running)
    assert_ok(raw.rpc("<discard-changes/>"))
    assert canonical(get_config(raw, "candidate")) == canonical(running)


def test_validate_candidate_with_a_dangling_port_reference_points_into_the_flow_rule(raw):
    load_running(raw, "graph-firewall-nat.xml")
    assert_ok(edit(raw, graph(FW, DANGLING_RULE)))
    errors = rpc_errors(raw.rpc("<validate><source><candidate/></source></validate>"))
    err = errors[0]
    assert field(err, "error-type") == "application"
    assert "port-in" in field(err, "error-message")
    assert "no such endpoint" in field(err, "error-message")
    path = field(err, "error-path")
    assert path.startswith(f"/nfg:graphs/nfg:graph[nfg:name='{FW}']/nfg:flow-rule[nfg:id='x']")
    hits = resolve_error_path(get_config(raw, "candidate"), err)
    assert [(etree.QName(h).localname, h.text) for h in hits] == [("port-in", "endpoint:nope")]


def test_validate_inline_config_accepts_a_valid_one_and_refuses_a_dangling_reference(raw):
    running = load_running(raw, "graph-firewall-nat.xml")
    inline_ok = example_config("graph-passthrough.xml")
    assert_ok(raw.rpc(f"<validate><source>{inline_ok}</source></validate>"))
    bad = (EXAMPLES / "invalid" / "graph-dangling-port.xml").read_text()
    bad = bad[bad.index("<graphs") :]
    errors = rpc_errors(
        raw.rpc(f'<validate><source><config xmlns="{NC}">{bad}</config></source></validate>')
    )
    assert any("no such endpoint" in (field(e, "error-message") or "") for e in errors)
    assert any(
        "nfg:flow-rule[nfg:id='lan-to-wan']" in (field(e, "error-path") or "") for e in errors
    )
    assert canonical(get_config(raw, "candidate")) == canonical(running)


# ---- with-defaults (RFC 6243) -------------------------------------------------------------------

DEFAULTS_GRAPH = graph(
    "wd",
    "<admin-state>enabled</admin-state>"
    "<nf><id>a</id><functional-type>x</functional-type><flavour>native</flavour></nf>"
    "<nf><id>b</id><functional-type>x</functional-type></nf>",
)
PLAIN_GRAPH = graph("plain")


def test_with_defaults_report_all_shows_default_values(raw):
    assert_ok(edit(raw, DEFAULTS_GRAPH + PLAIN_GRAPH, "running"))
    plain = get_config(raw)
    assert values(plain, "nfg:graphs/nfg:graph[nfg:name='plain']/nfg:admin-state/text()") == []
    assert values(plain, "//nfg:nf[nfg:id='b']/nfg:flavour/text()") == []
    data = get_config(raw, with_defaults="report-all")
    assert values(data, "nfg:graphs/nfg:graph[nfg:name='plain']/nfg:admin-state/text()") == [
        "enabled"
    ]
    assert values(data, "//nfg:nf[nfg:id='b']/nfg:flavour/text()") == ["any"]
    assert values(data, "//nfg:nf[nfg:id='a']/nfg:flavour/text()") == ["native"]


def test_with_defaults_trim_hides_a_leaf_explicitly_set_to_its_default(raw):
    assert_ok(edit(raw, DEFAULTS_GRAPH, "running"))
    load_running(raw, "template-firewall.xml")
    data = get_config(raw, with_defaults="trim")
    assert values(data, "nfg:graphs/nfg:graph/nfg:admin-state/text()") == []
    assert values(data, "//nfg:nf[nfg:id='a']/nfg:flavour/text()") == ["native"]
    tmpl = "nnft:templates/nnft:template[nnft:name='nnf-firewall']"
    assert values(data, f"{tmpl}/nnft:vnf-type/text()") == []  # default native
    assert values(data, f"{tmpl}/nnft:sharable/text()") == []  # default false
    assert values(data, f"{tmpl}/nnft:functional-type/text()") == ["firewall"]


def test_with_defaults_explicit_shows_explicitly_set_defaults_only(raw):
    assert_ok(edit(raw, DEFAULTS_GRAPH + PLAIN_GRAPH, "running"))
    data = get_config(raw, with_defaults="explicit")
    assert values(data, "nfg:graphs/nfg:graph[nfg:name='wd']/nfg:admin-state/text()") == ["enabled"]
    assert values(data, "nfg:graphs/nfg:graph[nfg:name='plain']/nfg:admin-state/text()") == []
    assert values(data, "//nfg:nf[nfg:id='b']/nfg:flavour/text()") == []


def test_with_defaults_report_all_tagged_marks_defaults_with_the_wd_attribute(raw):
    assert_ok(edit(raw, DEFAULTS_GRAPH + PLAIN_GRAPH, "running"))
    data = get_config(raw, with_defaults="report-all-tagged")
    admin = data.xpath("nfg:graphs/nfg:graph[nfg:name='plain']/nfg:admin-state", namespaces=NS)
    flavour_b = data.xpath("//nfg:nf[nfg:id='b']/nfg:flavour", namespaces=NS)
    flavour_a = data.xpath("//nfg:nf[nfg:id='a']/nfg:flavour", namespaces=NS)
    assert [e.text for e in admin] == ["enabled"]
    assert [e.text for e in flavour_b] == ["any"]
    assert admin[0].get(f"{{{WD_ATTR}}}default") == "true", etree.tostring(admin[0])
    assert flavour_b[0].get(f"{{{WD_ATTR}}}default") == "true", etree.tostring(flavour_b[0])
    assert flavour_a[0].get(f"{{{WD_ATTR}}}default") is None  # native is not the default


def test_without_with_defaults_the_basic_mode_explicit_applies(raw):
    assert_ok(edit(raw, DEFAULTS_GRAPH + PLAIN_GRAPH, "running"))
    assert canonical(get_config(raw)) == canonical(get_config(raw, with_defaults="explicit"))


# ---- get --------------------------------------------------------------------------------------


def test_get_returns_running_config_and_state(raw):
    running = load_running(raw, "graph-firewall-nat.xml")
    assert_ok(edit(raw, graph("uncommitted")))
    reply = parse_reply(raw.rpc("<get/>"))
    data = reply.find(f"{{{NC}}}data")
    assert data is not None
    graphs = data.find(f"{{{NFG}}}graphs")
    assert canonical(graphs) == canonical(running.find(f"{{{NFG}}}graphs"))
    state = data.find(f"{{{NCM}}}netconf-state")
    assert state is not None
    assert values(state, "ncm:datastores/ncm:datastore/ncm:name/text()") == [
        "running",
        "candidate",
        "startup",
    ]
    assert len(state.xpath("ncm:sessions/ncm:session", namespaces=NS)) >= 1
