"""Bad input on the wire: every refusal is a well-formed <rpc-error> (RFC 6241 section 4.3 and
appendix A), changes no datastore, and leaves the session and the agent working."""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from support.agentproc import example_config
from support.clients import RawClient
from support.replies import assert_ok, field, info, parse_reply, the_error

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NFG = "urn:nnfv:yang:nnfv-service-graph"
NNFT = "urn:nnfv:yang:nnfv-nnf-template"
NODE = "urn:nnfv:yang:nnfv-node"
NS = {"nc": NC, "nfg": NFG, "nnft": NNFT, "node": NODE}
FW = "fw-nat"
FW_PATH = f"/nfg:graphs/nfg:graph[nfg:name='{FW}']"
RPC_OPEN = f'<rpc xmlns="{NC}" message-id="77">'


# ---- helpers ----------------------------------------------------------------------------


@pytest.fixture
def raw(raw):
    """The session, on an agent whose running (and candidate) hold the fw-nat graph."""
    assert_ok(
        raw.rpc(
            "<edit-config><target><running/></target>"
            f"{example_config('graph-firewall-nat.xml')}</edit-config>"
        )
    )
    return raw


def path_namespaces(err: etree._Element) -> dict[str, str]:
    path_el = err.find(f"{{{NC}}}error-path")
    assert path_el is not None, etree.tostring(err)
    return {k: v for k, v in path_el.nsmap.items() if k}


def edit(raw: RawClient, body: str, target: str = "candidate") -> str:
    return raw.rpc(
        f"<edit-config><target><{target}/></target>"
        f'<config xmlns="{NC}" xmlns:nc="{NC}">{body}</config></edit-config>'
    )


def graph(inner: str, attrs: str = "") -> str:
    return f'<graphs xmlns="{NFG}"><graph{attrs}><name>{FW}</name>{inner}</graph></graphs>'


def canonical(el: etree._Element) -> tuple:
    children = tuple(sorted(canonical(c) for c in el if isinstance(c.tag, str)))
    return (el.tag, "" if children else (el.text or "").strip(), children)


def snapshot(raw: RawClient) -> dict[str, tuple]:
    out = {}
    for name in ("running", "candidate", "startup"):
        reply = parse_reply(raw.rpc(f"<get-config><source><{name}/></source></get-config>"))
        data = reply.find(f"{{{NC}}}data")
        assert data is not None
        out[name] = canonical(data)
    return out


def assert_still_serving(agent, raw: RawClient, before: dict[str, tuple]) -> None:
    """The agent is alive, this session answers the next rpc, and no datastore changed."""
    assert agent.alive
    assert snapshot(raw) == before
    assert_ok(raw.rpc("<validate><source><running/></source></validate>", "next"))


def resolve_in(config_xml: str, err: etree._Element) -> list[etree._Element]:
    """Evaluate the error-path against the <config> that was sent."""
    path_el = err.find(f"{{{NC}}}error-path")
    config = etree.fromstring(f'<config xmlns="{NC}">{config_xml}</config>'.encode())
    hits = []
    for top in config:
        doc = etree.ElementTree(copy.deepcopy(top))
        hits += doc.xpath(path_el.text.strip(), namespaces=path_namespaces(err))
    return hits


# ---- framing and XML level ----------------------------------------------------------------


def test_malformed_xml_returns_malformed_message_and_the_session_continues(agent, raw):
    before = snapshot(raw)
    raw.send(f"{RPC_OPEN}<get-config><source><running/></source></rpc>")
    err = the_error(raw.recv())
    assert field(err, "error-type") == "rpc"
    assert field(err, "error-tag") == "malformed-message"
    raw.send(b"<rpc this is not xml at all \x01")
    err = the_error(raw.recv())
    assert field(err, "error-tag") == "malformed-message"
    assert_still_serving(agent, raw, before)


def test_billion_laughs_entities_are_refused_without_expansion(agent, raw):
    before = snapshot(raw)
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    config = graph("<description>&lol9;</description>")
    message = (
        f'<?xml version="1.0"?><!DOCTYPE rpc [{entities}]>{RPC_OPEN}'
        f"<edit-config><target><candidate/></target><config>{config}</config></edit-config></rpc>"
    )
    raw.send(message)
    reply = raw.recv()
    err = the_error(reply)
    assert field(err, "error-type") == "rpc"
    assert field(err, "error-tag") == "malformed-message"
    assert "lollol" not in reply
    assert_still_serving(agent, raw, before)


def test_external_entity_is_refused_and_the_file_is_not_read(agent, raw):
    before = snapshot(raw)
    message = (
        '<?xml version="1.0"?><!DOCTYPE rpc [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        f"{RPC_OPEN}<edit-config><target><candidate/></target><config>"
        f"{graph('<description>&xxe;</description>')}</config></edit-config></rpc>"
    )
    raw.send(message)
    reply = raw.recv()
    err = the_error(reply)
    assert field(err, "error-tag") == "malformed-message"
    assert "root:" not in reply
    after = raw.rpc("<get-config><source><candidate/></source></get-config>")
    assert "root:" not in after
    assert_still_serving(agent, raw, before)


def test_doctype_in_a_utf16_message_is_refused_as_malformed(agent, raw):
    # NETCONF messages are UTF-8 (RFC 6241 section 3); the DTD ban must not depend on encoding.
    before = snapshot(raw)
    message = (
        '<?xml version="1.0" encoding="UTF-16"?>'
        '<!DOCTYPE rpc [<!ENTITY lol "LOLZ"><!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        f"{RPC_OPEN}<edit-config><target><candidate/></target><config>"
        f"{graph('<description>&lol;&xxe;</description>')}</config></edit-config></rpc>"
    )
    raw.send(message.encode("utf-16"))
    reply = raw.recv()
    err = the_error(reply)
    assert field(err, "error-type") == "rpc"
    assert field(err, "error-tag") == "malformed-message"
    assert "LOLZ" not in reply and "root:" not in reply
    assert_still_serving(agent, raw, before)


@pytest.mark.parametrize("base11", [True, False], ids=["base11-chunked", "base10-eom"])
def test_message_over_the_size_limit_returns_too_big_and_the_session_continues(
    agent_factory, base11
):
    agent = agent_factory(max_message_size=4096)
    raw = RawClient(agent, base11=base11)
    try:
        before = snapshot(raw)
        big = "x" * 10_000
        reply = raw.rpc(
            "<edit-config><target><candidate/></target>"
            f'<config xmlns="{NC}">{graph(f"<description>{big}</description>")}</config>'
            "</edit-config>",
            "big",
        )
        err = the_error(reply)
        assert field(err, "error-type") == "rpc"
        assert field(err, "error-tag") == "too-big"
        assert big not in reply
        assert_still_serving(agent, raw, before)
    finally:
        raw.close()


# ---- rpc envelope ------------------------------------------------------------------------------


def test_unknown_rpc_returns_operation_not_supported(agent, raw):
    before = snapshot(raw)
    reply = raw.rpc('<foo xmlns="urn:example"/>', "41")
    assert parse_reply(reply).get("message-id") == "41"
    err = the_error(reply)
    assert field(err, "error-tag") == "operation-not-supported"
    assert field(err, "error-type") == "protocol"
    assert_still_serving(agent, raw, before)


def test_rpc_without_message_id_returns_missing_attribute(agent, raw):
    before = snapshot(raw)
    raw.send(f'<rpc xmlns="{NC}"><get-config><source><running/></source></get-config></rpc>')
    err = the_error(raw.recv())
    assert field(err, "error-type") == "rpc"
    assert field(err, "error-tag") == "missing-attribute"
    assert info(err, "bad-attribute") == "message-id"
    assert info(err, "bad-element") == "rpc"
    assert_still_serving(agent, raw, before)


# ---- edit-config content -------------------------------------------------------------------------


def test_unknown_element_in_config_returns_unknown_element_with_path_and_bad_element(agent, raw):
    before = snapshot(raw)
    err = the_error(edit(raw, graph("<bogus>1</bogus>")))
    assert field(err, "error-type") == "application"
    assert field(err, "error-tag") == "unknown-element"
    assert info(err, "bad-element") == "bogus"
    assert field(err, "error-path").startswith(FW_PATH)
    assert path_namespaces(err)["nfg"] == NFG
    assert_still_serving(agent, raw, before)


def test_unknown_namespace_in_config_returns_unknown_namespace(agent, raw):
    before = snapshot(raw)
    err = the_error(
        edit(raw, '<graphs xmlns="urn:example:nope"><graph><name>x</name></graph></graphs>')
    )
    assert field(err, "error-tag") == "unknown-namespace"
    assert field(err, "error-type") in ("protocol", "application")
    assert info(err, "bad-element") == "graphs"
    assert info(err, "bad-namespace") == "urn:example:nope"
    assert_still_serving(agent, raw, before)


@pytest.mark.parametrize("target", ["candidate", "running"])
def test_non_numeric_priority_returns_invalid_value_with_error_path_to_the_leaf(agent, raw, target):
    before = snapshot(raw)
    body = graph("<flow-rule><id>lan-to-fw</id><priority>abc</priority></flow-rule>")
    err = the_error(edit(raw, body, target))
    assert field(err, "error-type") == "application"
    assert field(err, "error-tag") == "invalid-value"
    assert field(err, "error-path") == f"{FW_PATH}/nfg:flow-rule[nfg:id='lan-to-fw']/nfg:priority"
    assert path_namespaces(err)["nfg"] == NFG
    assert [h.text for h in resolve_in(body, err)] == ["abc"]
    assert_still_serving(agent, raw, before)


def test_vlan_id_out_of_range_returns_invalid_value_with_error_path_to_the_leaf(agent, raw):
    before = snapshot(raw)
    body = graph(
        "<endpoint><id>v</id><vlan><interface>eth0</interface><vlan-id>5000</vlan-id></vlan>"
        "</endpoint>"
    )
    err = the_error(edit(raw, body))
    assert field(err, "error-tag") == "invalid-value"
    assert field(err, "error-path") == f"{FW_PATH}/nfg:endpoint[nfg:id='v']/nfg:vlan/nfg:vlan-id"
    assert [h.text for h in resolve_in(body, err)] == ["5000"]
    assert_still_serving(agent, raw, before)


def test_error_path_prefixes_are_declared_for_other_modules_too(agent, raw):
    before = snapshot(raw)
    body = (
        f'<templates xmlns="{NNFT}"><template><name>t1</name><sha256>not-hex</sha256>'
        "</template></templates>"
    )
    err = the_error(edit(raw, body))
    assert field(err, "error-tag") == "invalid-value"
    path = field(err, "error-path")
    assert path == "/nnft:templates/nnft:template[nnft:name='t1']/nnft:sha256"
    assert path_namespaces(err)["nnft"] == NNFT
    assert [h.text for h in resolve_in(body, err)] == ["not-hex"]
    assert_still_serving(agent, raw, before)


def test_list_entry_without_its_key_returns_missing_element(agent, raw):
    before = snapshot(raw)
    err = the_error(
        edit(raw, f'<graphs xmlns="{NFG}"><graph><description>x</description></graph></graphs>')
    )
    assert field(err, "error-tag") == "missing-element"
    assert field(err, "error-type") in ("protocol", "application")
    assert info(err, "bad-element") == "name"
    err = the_error(edit(raw, graph("<flow-rule><priority>3</priority></flow-rule>")))
    assert field(err, "error-tag") == "missing-element"
    assert info(err, "bad-element") == "id"
    assert_still_serving(agent, raw, before)


def test_create_of_an_existing_entry_returns_data_exists(agent, raw):
    before = snapshot(raw)
    body = graph(
        "<flow-rule nc:operation='create'><id>lan-to-fw</id><priority>1</priority></flow-rule>"
    )
    err = the_error(edit(raw, body))
    assert field(err, "error-type") == "application"
    assert field(err, "error-tag") == "data-exists"
    assert field(err, "error-path") == f"{FW_PATH}/nfg:flow-rule[nfg:id='lan-to-fw']"
    assert path_namespaces(err)["nfg"] == NFG
    assert_still_serving(agent, raw, before)


def test_delete_of_a_missing_entry_returns_data_missing(agent, raw):
    before = snapshot(raw)
    err = the_error(edit(raw, graph("<nf nc:operation='delete'><id>ghost</id></nf>"), "running"))
    assert field(err, "error-type") == "application"
    assert field(err, "error-tag") == "data-missing"
    assert field(err, "error-path") == f"{FW_PATH}/nfg:nf[nfg:id='ghost']"
    assert_still_serving(agent, raw, before)


def test_bad_operation_attribute_value_returns_bad_attribute(agent, raw):
    before = snapshot(raw)
    err = the_error(
        edit(raw, graph("<flow-rule nc:operation='frobnicate'><id>lan-to-fw</id></flow-rule>"))
    )
    assert field(err, "error-tag") == "bad-attribute"
    assert field(err, "error-type") in ("protocol", "application")
    assert info(err, "bad-attribute") == "operation"
    assert info(err, "bad-element") == "flow-rule"
    assert_still_serving(agent, raw, before)


@pytest.mark.parametrize(
    "state",
    [
        "<status><state>deployed</state></status>",
        "<flow-rule><id>lan-to-fw</id><counters><packets>5</packets></counters></flow-rule>",
        "<nf><id>fw</id><status><state>running</state></status></nf>",
    ],
    ids=["graph-status", "flow-rule-counters", "nf-status"],
)
@pytest.mark.parametrize("target", ["candidate", "running"])
def test_edit_config_of_a_state_node_is_refused_and_changes_nothing(agent, raw, state, target):
    before = snapshot(raw)
    err = the_error(edit(raw, graph(state), target))
    assert field(err, "error-tag") in ("invalid-value", "unknown-element", "operation-failed")
    assert field(err, "error-path").startswith(FW_PATH)
    assert_still_serving(agent, raw, before)


def test_several_errors_in_one_session_leave_it_usable(agent, raw):
    before = snapshot(raw)
    bad_messages = [
        "<get-config><source><running/></source>",
        '<foo xmlns="urn:example"/>',
        "<get-config><source><nowhere/></source></get-config>",
        f"<edit-config><target><candidate/></target><config>{graph('<x/>')}</config></edit-config>",
    ]
    for i, body in enumerate(bad_messages):
        raw.send(f'<rpc xmlns="{NC}" message-id="m{i}">{body}</rpc>')
        the_error(raw.recv())
    assert_still_serving(agent, raw, before)


def test_commit_of_an_interface_another_graph_holds_names_both_graphs_and_changes_nothing(raw):
    second = (
        f'<graphs xmlns="{NFG}"><graph><name>other</name><endpoint><id>up</id>'
        "<interface>veth-wan</interface></endpoint></graph></graphs>"
    )
    assert_ok(edit(raw, second))
    reply = raw.rpc("<commit/>")
    err = the_error(reply)
    assert field(err, "error-tag") == "operation-failed"
    assert field(err, "error-app-tag") == "interface-in-use"
    assert field(err, "error-path") == (
        "/nfg:graphs/nfg:graph[nfg:name='other']/nfg:endpoint[nfg:id='up']/nfg:interface"
    )
    assert path_namespaces(err) == {"nfg": NFG}
    assert "interface veth-wan is already used by graph fw-nat" in field(err, "error-message")
    running = raw.rpc("<get-config><source><running/></source></get-config>")
    assert "<name>other</name>" not in running
    assert "<ok/>" in raw.rpc("<discard-changes/>")


def test_validate_refuses_an_interface_another_graph_holds(raw):
    second = (
        f'<graphs xmlns="{NFG}"><graph><name>other</name><endpoint><id>up</id>'
        "<interface>veth-lan</interface></endpoint></graph></graphs>"
    )
    assert_ok(edit(raw, second))
    err = the_error(raw.rpc("<validate><source><candidate/></source></validate>"))
    assert field(err, "error-app-tag") == "interface-in-use"


# ---- a full disk ---------------------------------------------------------------------------


@pytest.fixture
def full_disk_agent(tmp_path, client_key):
    """An agent whose state directory is a small file system of its own, and ballast to fill it."""
    import os
    import subprocess

    from support.agentproc import AgentProcess, write_config

    state = tmp_path / "state"
    state.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(state)], check=True)
    config = tmp_path / "agent.toml"
    write_config(config, state, pubkey=f"{client_key.get_name()} {client_key.get_base64()}")
    agent = AgentProcess(state, config, tmp_path / "agent.log")
    try:
        agent.start()

        def fill() -> None:
            fd = os.open(state / "ballast", os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while os.write(fd, b"\0" * 512):
                    pass
            except OSError:
                pass
            finally:
                os.close(fd)

        agent.fill = fill  # type: ignore[attr-defined]
        yield agent
    finally:
        agent.stop()
        subprocess.run(["umount", str(state)], check=True)


def test_full_disk_gives_resource_denied_naming_the_cause_and_changes_nothing(full_disk_agent):
    agent = full_disk_agent
    client = RawClient(agent)
    try:
        agent.fill()
        reply = client.rpc(
            "<edit-config><target><running/></target>"
            f"{example_config('graph-firewall-nat.xml')}</edit-config>"
        )
        err = the_error(reply)
        assert field(err, "error-tag") == "resource-denied"
        message = field(err, "error-message") or ""
        assert "disk is full" in message and "No space left on device" in message
        # The commit's intent is the first thing written.
        assert "commit-journal" in message or "running.xml" in message
        assert "internal error" not in message
        assert FW not in client.rpc("<get-config><source><running/></source></get-config>")
        (agent.state_dir / "ballast").unlink()
        assert_ok(
            client.rpc(
                "<edit-config><target><running/></target>"
                f"{example_config('graph-firewall-nat.xml')}</edit-config>"
            )
        )
    finally:
        client.close()
    assert sorted(p.name for p in agent.state_dir.iterdir() if p.name.startswith(".")) == []
