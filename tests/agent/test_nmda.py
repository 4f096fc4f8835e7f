"""NMDA over NETCONF (RFC 8526): get-data and edit-data on the four datastores, against a real
agent over SSH; every get-data reply is validated with yanglint against the YANG modules."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from lxml import etree

from support.agentproc import YANG, example_config
from support.clients import RawClient
from support.replies import assert_ok, field, info, parse_reply, the_error

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NCDS = "urn:ietf:params:xml:ns:yang:ietf-netconf-nmda"
DS = "urn:ietf:params:xml:ns:yang:ietf-datastores"
OR = "urn:ietf:params:xml:ns:yang:ietf-origin"
NFG = "urn:nnfv:yang:nnfv-service-graph"
NNFT = "urn:nnfv:yang:nnfv-nnf-template"
NODE = "urn:nnfv:yang:nnfv-node"
NCM = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
YL = "urn:ietf:params:xml:ns:yang:ietf-yang-library"
NS = {"nfg": NFG, "nnft": NNFT, "node": NODE, "ncm": NCM, "yl": YL, "or": OR, "ncds": NCDS}
ORIGIN_ATTR = f"{{{OR}}}origin"

NODE_CONFIG = (
    f'<node xmlns="{NODE}"><allowed-interface>eth0</allowed-interface>'
    "<accelerator><name>qat0</name><kind>crypto</kind></accelerator></node>"
)
# The modules whose data an agent returns, for yanglint.
ACM = "urn:ietf:params:xml:ns:yang:ietf-netconf-acm"
MODULES = [
    YANG / "nnfv-service-graph.yang",
    YANG / "nnfv-nnf-template.yang",
    YANG / "nnfv-node.yang",
    YANG / "nnfv-agent.yang",
    YANG / "ietf" / "ietf-netconf-monitoring@2010-10-04.yang",
    YANG / "ietf" / "ietf-netconf-with-defaults@2011-06-01.yang",
    YANG / "ietf" / "nc-notifications@2008-07-14.yang",
    YANG / "ietf" / "ietf-origin@2018-02-14.yang",
    YANG / "ietf" / "ietf-netconf-acm@2018-02-14.yang",
]


# ---- helpers ----------------------------------------------------------------------------------


def get_data(raw: RawClient, datastore: str, params: str = "") -> str:
    return raw.rpc(
        f'<get-data xmlns="{NCDS}" xmlns:ds="{DS}"><datastore>ds:{datastore}</datastore>'
        f"{params}</get-data>"
    )


def nmda_data(text: str) -> etree._Element:
    """The <data> of a get-data reply (in the ietf-netconf-nmda namespace)."""
    reply = parse_reply(text)
    data = reply.find(f"{{{NCDS}}}data")
    assert data is not None, text
    assert reply.find(f"{{{NC}}}data") is None, text
    return data


def yanglint(data: etree._Element, kind: str, tmp_path: Path) -> None:
    """Validate the content of a reply's <data> with yanglint (`kind`: its -t type)."""
    assert len(data), "nothing to validate"
    doc = tmp_path / f"data-{kind}.xml"
    # RFC 6243 section 6 puts the default attribute in a namespace of its own on the wire;
    # libyang knows it as the ietf-netconf-with-defaults annotation.
    text = b"".join(etree.tostring(el) for el in data).replace(
        b"urn:ietf:params:xml:ns:netconf:default:1.0",
        b"urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults",
    )
    doc.write_bytes(text)
    result = subprocess.run(
        ["yanglint", "-y", "-t", kind, "-p", str(YANG), "-p", str(YANG / "ietf")]
        + [str(m) for m in MODULES]
        + [str(doc)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"yanglint -t {kind}: {result.stderr}\n{doc.read_text()}"


def validated(raw: RawClient, datastore: str, tmp_path: Path, params: str = "") -> etree._Element:
    """get-data, its reply checked by yanglint: complete datastores fully, filtered ones as
    the content of a retrieval (schema, types and keys, but no mandatory nodes)."""
    data = nmda_data(get_data(raw, datastore, params))
    operational = datastore == "operational"
    if params and "with-defaults" not in params:
        kind = "get" if operational else "getconfig"
    else:
        kind = "data" if operational else "config"
    if len(data):
        yanglint(data, kind, tmp_path)
    return data


def tops(data: etree._Element) -> set[str]:
    return {etree.QName(el).localname for el in data}


def values(data: etree._Element, path: str) -> list[str]:
    found = data.xpath(path, namespaces=NS)
    return [(v.text if isinstance(v, etree._Element) else str(v) or "").strip() for v in found]


def error_of(text: str, tag: str) -> etree._Element:
    err = the_error(text)
    assert field(err, "error-tag") == tag, text
    return err


@pytest.fixture
def loaded(raw: RawClient) -> RawClient:
    """Running holds two graphs, a template and node configuration; candidate a copy."""
    for name in ("graphs-internal.xml", "template-firewall.xml"):
        assert_ok(
            raw.rpc(f"<edit-config><target><running/></target>{example_config(name)}</edit-config>")
        )
    assert_ok(
        raw.rpc(
            f'<edit-config><target><running/></target><config xmlns="{NC}">{NODE_CONFIG}'
            "</config></edit-config>"
        )
    )
    assert_ok(raw.rpc("<discard-changes/>"))
    return raw


# ---- the datastores ---------------------------------------------------------------------------


def test_hello_advertises_nmda_and_the_yang_library(raw: RawClient) -> None:
    hello = etree.fromstring(raw.server_hello.replace("]]>]]>", "").encode())
    caps = [c.text or "" for c in hello.iter(f"{{{NC}}}capability")]
    assert any(
        c.startswith("urn:ietf:params:netconf:capability:yang-library:1.1?revision=2019-01-04")
        and "content-id=" in c
        for c in caps
    ), caps
    nmda = [c for c in caps if c.startswith(f"{NCDS}?module=ietf-netconf-nmda")]
    assert nmda and "revision=2019-01-07" in nmda[0] and "origin" in nmda[0], caps
    assert any(c.startswith(f"{OR}?module=ietf-origin") for c in caps), caps
    assert any("with-operational-defaults:1.0" in c for c in caps), caps
    # :url is not implemented, so ietf-netconf does not claim it
    netconf = next(c for c in caps if c.startswith(f"{NC}?module=ietf-netconf&"))
    assert "url" not in netconf


@pytest.mark.parametrize("datastore", ["running", "candidate", "startup"])
def test_get_data_on_a_conventional_datastore_returns_its_configuration_only(
    loaded: RawClient, datastore: str, tmp_path: Path
) -> None:
    if datastore == "startup":
        assert_ok(
            loaded.rpc(
                "<copy-config><target><startup/></target><source><running/></source></copy-config>"
            )
        )
    data = validated(loaded, datastore, tmp_path)
    assert tops(data) == {"graphs", "templates", "node"}
    assert sorted(values(data, "nfg:graphs/nfg:graph/nfg:name")) == ["access", "uplink"]
    assert not data.xpath("//ncm:netconf-state | //yl:yang-library", namespaces=NS)


def test_get_data_on_startup_before_any_copy_is_empty(raw: RawClient, tmp_path: Path) -> None:
    data = validated(raw, "startup", tmp_path)
    assert len(data) == 0


def test_get_data_on_candidate_shows_uncommitted_edits(loaded: RawClient, tmp_path: Path) -> None:
    assert_ok(
        loaded.rpc(
            f'<edit-config><target><candidate/></target><config xmlns="{NC}">'
            f'<node xmlns="{NODE}"><allowed-interface>eth9</allowed-interface></node>'
            "</config></edit-config>"
        )
    )
    candidate = validated(loaded, "candidate", tmp_path)
    running = validated(loaded, "running", tmp_path)
    assert "eth9" in values(candidate, "node:node/node:allowed-interface")
    assert "eth9" not in values(running, "node:node/node:allowed-interface")


def test_get_data_on_operational_holds_configuration_and_server_state(
    loaded: RawClient, tmp_path: Path
) -> None:
    data = validated(loaded, "operational", tmp_path)
    assert {"graphs", "templates", "node", "netconf-state", "yang-library"} <= tops(data)
    assert sorted(values(data, "nfg:graphs/nfg:graph/nfg:name")) == ["access", "uplink"]


def test_get_config_still_returns_configuration_only(loaded: RawClient) -> None:
    reply = parse_reply(loaded.rpc("<get-config><source><running/></source></get-config>"))
    data = reply.find(f"{{{NC}}}data")
    assert data is not None
    assert tops(data) == {"graphs", "templates", "node"}


# ---- the YANG library ---------------------------------------------------------------------------


def test_yang_library_lists_each_datastore_and_the_modules_it_holds(
    raw: RawClient, tmp_path: Path
) -> None:
    data = validated(
        raw,
        "operational",
        tmp_path,
        f'<subtree-filter><yang-library xmlns="{YL}"/></subtree-filter>',
    )
    stores = dict(
        zip(
            values(data, "yl:yang-library/yl:datastore/yl:name"),
            values(data, "yl:yang-library/yl:datastore/yl:schema"),
            strict=True,
        )
    )
    assert stores == {
        "ds:running": "config",
        "ds:candidate": "config",
        "ds:startup": "config",
        "ds:operational": "complete",
    }
    config = set(values(data, "yl:yang-library/yl:module-set[yl:name='config']/yl:module/yl:name"))
    assert config == {"nnfv-service-graph", "nnfv-nnf-template", "nnfv-node", "ietf-netconf-acm"}
    complete = set(
        values(data, "yl:yang-library/yl:module-set[yl:name='complete']/yl:module/yl:name")
    )
    assert config | {"ietf-netconf-nmda", "ietf-origin", "ietf-netconf-monitoring"} <= complete
    hello = raw.server_hello
    content_id = values(data, "yl:yang-library/yl:content-id")[0]
    assert f"content-id={content_id}" in hello


def test_modules_state_stays_for_rfc7895_clients(raw: RawClient) -> None:
    data = nmda_data(
        get_data(
            raw, "operational", f'<subtree-filter><modules-state xmlns="{YL}"/></subtree-filter>'
        )
    )
    assert "ietf-netconf-nmda" in values(data, "yl:modules-state/yl:module/yl:name")


# ---- filters --------------------------------------------------------------------------------


def test_subtree_filter_selects_one_graph(loaded: RawClient, tmp_path: Path) -> None:
    data = validated(
        loaded,
        "running",
        tmp_path,
        f'<subtree-filter><graphs xmlns="{NFG}"><graph><name>uplink</name></graph></graphs>'
        "</subtree-filter>",
    )
    assert values(data, "nfg:graphs/nfg:graph/nfg:name") == ["uplink"]
    assert tops(data) == {"graphs"}


def test_xpath_filter_uses_the_namespaces_in_scope(loaded: RawClient, tmp_path: Path) -> None:
    data = validated(
        loaded,
        "operational",
        tmp_path,
        f'<xpath-filter xmlns:t="{NNFT}">/t:templates/t:template/t:name</xpath-filter>',
    )
    assert tops(data) == {"templates"}
    assert values(data, "nnft:templates/nnft:template/nnft:name")
    assert not data.xpath("nnft:templates/nnft:template/nnft:functional-type", namespaces=NS)


def test_both_filters_at_once_are_refused(loaded: RawClient) -> None:
    err = error_of(
        get_data(
            loaded,
            "running",
            f'<subtree-filter><graphs xmlns="{NFG}"/></subtree-filter>'
            "<xpath-filter>/graphs</xpath-filter>",
        ),
        "bad-element",
    )
    assert info(err, "bad-element") == "xpath-filter"


def test_config_filter_true_drops_server_state(loaded: RawClient, tmp_path: Path) -> None:
    data = validated(loaded, "operational", tmp_path, "<config-filter>true</config-filter>")
    # /nacm is a configuration container; its counters are state and are dropped.
    assert tops(data) == {"graphs", "templates", "node", "nacm"}
    assert not len(data.find(f"{{{ACM}}}nacm")), etree.tostring(data.find(f"{{{ACM}}}nacm"))


def test_config_filter_false_keeps_state_only(loaded: RawClient, tmp_path: Path) -> None:
    data = validated(loaded, "operational", tmp_path, "<config-filter>false</config-filter>")
    assert "netconf-state" in tops(data)
    assert not {"graphs", "templates", "node"} & tops(data)
    running = validated(loaded, "running", tmp_path, "<config-filter>false</config-filter>")
    assert len(running) == 0


def test_max_depth_cuts_below_the_selected_nodes_and_keeps_keys(
    loaded: RawClient, tmp_path: Path
) -> None:
    top = validated(loaded, "running", tmp_path, "<max-depth>1</max-depth>")
    assert tops(top) == {"graphs", "templates", "node"}
    assert all(len(el) == 0 for el in top)
    two = validated(loaded, "running", tmp_path, "<max-depth>2</max-depth>")
    graphs = two.xpath("nfg:graphs/nfg:graph", namespaces=NS)
    # each graph entry is there with its key only
    assert [[etree.QName(c).localname for c in g] for g in graphs] == [["name"], ["name"]]
    filtered = validated(
        loaded,
        "running",
        tmp_path,
        f'<subtree-filter><graphs xmlns="{NFG}"><graph><name>access</name><nf/></graph>'
        "</graphs></subtree-filter><max-depth>1</max-depth>",
    )
    # the selected nodes are the nf entries: they keep their key, lose the rest
    nfs = filtered.xpath("nfg:graphs/nfg:graph/nfg:nf", namespaces=NS)
    assert nfs and all([etree.QName(c).localname for c in nf] == ["id"] for nf in nfs)
    assert not filtered.xpath("//@*[local-name()='selected']")


@pytest.mark.parametrize("depth", ["0", "65536", "-1", "deep", ""])
def test_bad_max_depth_is_an_invalid_value(loaded: RawClient, depth: str) -> None:
    err = error_of(get_data(loaded, "running", f"<max-depth>{depth}</max-depth>"), "invalid-value")
    assert info(err, "bad-element") == "max-depth"
    assert field(err, "error-path") == "/nc:rpc/ncds:get-data/ncds:max-depth"


# ---- origin ---------------------------------------------------------------------------------


def test_with_origin_annotates_configuration_and_state(loaded: RawClient, tmp_path: Path) -> None:
    data = validated(loaded, "operational", tmp_path, "<with-origin/>")
    by_top = {etree.QName(el).localname: el.get(ORIGIN_ATTR) for el in data}
    assert by_top["graphs"] == "or:intended"
    assert by_top["templates"] == "or:intended"
    assert by_top["node"] == "or:intended"
    assert by_top["netconf-state"] == "or:system"
    assert by_top["yang-library"] == "or:system"
    # descendants inherit their parent's origin: only the roots carry it
    graph = data.find(f"{{{NFG}}}graphs/{{{NFG}}}graph")
    assert graph is not None and graph.get(ORIGIN_ATTR) is None
    # the prefix in the value resolves to ietf-origin
    assert data.nsmap.get("or") == OR


def test_no_origin_unless_asked(loaded: RawClient) -> None:
    data = nmda_data(get_data(loaded, "operational"))
    assert not data.xpath("//@or:origin", namespaces=NS)


@pytest.mark.parametrize("datastore", ["running", "candidate", "startup"])
def test_with_origin_on_a_conventional_datastore_is_an_invalid_value(
    loaded: RawClient, datastore: str
) -> None:
    err = error_of(get_data(loaded, datastore, "<with-origin/>"), "invalid-value")
    assert info(err, "bad-element") == "with-origin"
    assert field(err, "error-path") == "/nc:rpc/ncds:get-data/ncds:with-origin"


def test_origin_filter_selects_configuration_by_origin(loaded: RawClient, tmp_path: Path) -> None:
    xmlns = f'xmlns:or="{OR}"'
    intended = validated(
        loaded, "operational", tmp_path, f"<origin-filter {xmlns}>or:intended</origin-filter>"
    )
    assert {"graphs", "netconf-state"} <= tops(intended)
    system = validated(
        loaded, "operational", tmp_path, f"<origin-filter {xmlns}>or:system</origin-filter>"
    )
    assert "graphs" not in tops(system) and "netconf-state" in tops(system)
    negated = validated(
        loaded,
        "operational",
        tmp_path,
        f"<negated-origin-filter {xmlns}>or:intended</negated-origin-filter>",
    )
    assert "graphs" not in tops(negated)


def test_with_defaults_on_operational_tags_defaults(loaded: RawClient, tmp_path: Path) -> None:
    data = validated(
        loaded, "operational", tmp_path, "<with-defaults>report-all-tagged</with-defaults>"
    )
    tagged = data.xpath("//*[@*[local-name()='default']='true']")
    assert tagged


# ---- bad requests ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["ds:intended", "ds:nonesuch", "nonesuch:running", "running"])
def test_unknown_datastore_is_an_invalid_value(loaded: RawClient, value: str) -> None:
    reply = loaded.rpc(
        f'<get-data xmlns="{NCDS}" xmlns:ds="{DS}"><datastore>{value}</datastore></get-data>'
    )
    err = error_of(reply, "invalid-value")
    assert field(err, "error-path") == "/nc:rpc/ncds:get-data/ncds:datastore"
    assert "datastore" in (field(err, "error-message") or "")


def test_missing_datastore_is_a_missing_element(loaded: RawClient) -> None:
    err = error_of(loaded.rpc(f'<get-data xmlns="{NCDS}"/>'), "missing-element")
    assert info(err, "bad-element") == "datastore"


def test_unknown_parameter_is_an_unknown_element(loaded: RawClient) -> None:
    err = error_of(get_data(loaded, "running", "<colour>blue</colour>"), "unknown-element")
    assert info(err, "bad-element") == "colour"


def test_bad_config_filter_is_an_invalid_value(loaded: RawClient) -> None:
    err = error_of(
        get_data(loaded, "running", "<config-filter>maybe</config-filter>"), "invalid-value"
    )
    assert info(err, "bad-element") == "config-filter"


# ---- edit-data ------------------------------------------------------------------------------


def edit_data(raw: RawClient, datastore: str, content: str, params: str = "") -> str:
    return raw.rpc(
        f'<edit-data xmlns="{NCDS}" xmlns:ds="{DS}"><datastore>ds:{datastore}</datastore>'
        f"{params}<config>{content}</config></edit-data>"
    )


def test_edit_data_on_running_commits_through_the_transaction(
    loaded: RawClient, tmp_path: Path
) -> None:
    assert_ok(
        edit_data(
            loaded,
            "running",
            f'<node xmlns="{NODE}"><allowed-interface>eth7</allowed-interface></node>',
        )
    )
    running = validated(loaded, "running", tmp_path)
    assert "eth7" in values(running, "node:node/node:allowed-interface")
    # the same edit seen by an old client, and a removal with nc:operation
    reply = loaded.rpc("<get-config><source><running/></source></get-config>")
    assert "eth7" in reply
    assert_ok(
        edit_data(
            loaded,
            "running",
            f'<node xmlns="{NODE}"><allowed-interface xmlns:nc="{NC}" nc:operation="delete">'
            "eth7</allowed-interface></node>",
        )
    )
    assert "eth7" not in values(validated(loaded, "running", tmp_path), "//node:allowed-interface")


def test_edit_data_on_candidate_waits_for_commit(loaded: RawClient, tmp_path: Path) -> None:
    assert_ok(
        edit_data(
            loaded,
            "candidate",
            f'<graphs xmlns="{NFG}"><graph><name>extra</name></graph></graphs>',
        )
    )
    assert "extra" in values(validated(loaded, "candidate", tmp_path), "//nfg:graph/nfg:name")
    assert "extra" not in values(validated(loaded, "running", tmp_path), "//nfg:graph/nfg:name")
    assert_ok(loaded.rpc("<commit/>"))
    assert "extra" in values(validated(loaded, "running", tmp_path), "//nfg:graph/nfg:name")


def test_edit_data_replace_replaces_the_datastore(loaded: RawClient, tmp_path: Path) -> None:
    assert_ok(
        edit_data(
            loaded,
            "candidate",
            f'<node xmlns="{NODE}"><allowed-interface>eth3</allowed-interface></node>',
            "<default-operation>replace</default-operation>",
        )
    )
    assert tops(validated(loaded, "candidate", tmp_path)) == {"node"}


def test_invalid_edit_data_changes_nothing(loaded: RawClient, tmp_path: Path) -> None:
    before = etree.tostring(validated(loaded, "running", tmp_path))
    reply = edit_data(
        loaded,
        "running",
        f'<graphs xmlns="{NFG}"><graph><name>bad</name><flow-rule><id>r</id>'
        "<priority>1</priority><match><port-in>endpoint:nowhere</port-in></match>"
        "</flow-rule></graph></graphs>",
    )
    assert the_error(reply) is not None
    assert etree.tostring(validated(loaded, "running", tmp_path)) == before


@pytest.mark.parametrize("datastore", ["startup", "operational"])
def test_edit_data_on_a_datastore_that_is_not_writable_is_an_invalid_value(
    loaded: RawClient, datastore: str
) -> None:
    err = error_of(
        edit_data(
            loaded,
            datastore,
            f'<node xmlns="{NODE}"><allowed-interface>x</allowed-interface></node>',
        ),
        "invalid-value",
    )
    assert field(err, "error-path") == "/nc:rpc/ncds:edit-data/ncds:datastore"


def test_edit_data_respects_the_lock_of_another_session(loaded: RawClient, agent) -> None:
    other = RawClient(agent)
    try:
        assert_ok(other.rpc("<lock><target><running/></target></lock>"))
        err = error_of(
            edit_data(
                loaded,
                "running",
                f'<node xmlns="{NODE}"><allowed-interface>x</allowed-interface></node>',
            ),
            "in-use",
        )
        assert err is not None
    finally:
        other.close()


# ---- lock, unlock and validate name NMDA datastores (ietf-netconf-nmda augments) ----------------


def test_lock_and_unlock_accept_an_nmda_datastore(loaded: RawClient, agent) -> None:
    target = f'<target><datastore xmlns="{NCDS}" xmlns:ds="{DS}">ds:candidate</datastore></target>'
    assert_ok(loaded.rpc(f"<lock>{target}</lock>"))
    other = RawClient(agent)
    try:
        reply = other.rpc("<lock><target><candidate/></target></lock>")
        assert field(the_error(reply), "error-tag") == "lock-denied"
    finally:
        other.close()
    assert_ok(loaded.rpc(f"<unlock>{target}</unlock>"))


def test_lock_on_operational_is_an_invalid_value(loaded: RawClient) -> None:
    target = (
        f'<target><datastore xmlns="{NCDS}" xmlns:ds="{DS}">ds:operational</datastore></target>'
    )
    err = error_of(loaded.rpc(f"<lock>{target}</lock>"), "invalid-value")
    assert info(err, "bad-element") == "datastore"


def test_validate_accepts_an_nmda_datastore(loaded: RawClient) -> None:
    source = f'<source><datastore xmlns="{NCDS}" xmlns:ds="{DS}">ds:candidate</datastore></source>'
    assert_ok(loaded.rpc(f"<validate>{source}</validate>"))


def test_ncclient_reads_operational_with_dispatch(loaded: RawClient, agent) -> None:
    """ncclient has no get_data method; its generic dispatch sends the RPC as it is."""
    from support.clients import ncclient_connect

    rpc = etree.fromstring(
        f'<get-data xmlns="{NCDS}" xmlns:ds="{DS}"><datastore>ds:operational</datastore>'
        f'<xpath-filter xmlns:g="{NFG}">/g:graphs/g:graph/g:name</xpath-filter></get-data>'
    )
    with ncclient_connect(agent) as m:
        reply = m.dispatch(rpc)
    data = etree.fromstring(reply.xml.encode()).find(f"{{{NCDS}}}data")
    assert data is not None
    assert sorted(values(data, "nfg:graphs/nfg:graph/nfg:name")) == ["access", "uplink"]
