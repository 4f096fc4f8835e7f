"""RFC 6022 netconf-state and get-schema, RFC 8525 yang-library, checked against the YANG models."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import UTC, datetime

import libyang
import pytest
from lxml import etree
from ncclient.operations.rpc import RPCError

from support.agentproc import ROOT, YANG, example_config
from support.clients import RawClient, ncclient_connect

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NCM = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
YANGLIB = "urn:ietf:params:xml:ns:yang:ietf-yang-library"
NFG = "urn:nnfv:yang:nnfv-service-graph"
REVISION = "2026-11-22"
OUR_MODULES = ("nnfv-service-graph", "nnfv-nnf-template", "nnfv-node")
CLIENT_MODULES = (
    *OUR_MODULES,
    "ietf-netconf-monitoring",
    "ietf-netconf-with-defaults",
    "ietf-netconf-acm",
    "nc-notifications",
)
NETCONF_STATE = ("subtree", f'<netconf-state xmlns="{NCM}"/>')
YANG_LIBRARY = ("subtree", f'<yang-library xmlns="{YANGLIB}"/>')


@pytest.fixture(scope="module")
def ctx():
    """A client-side libyang context with the agent's models (not the agent's own context)."""
    context = libyang.Context(f"{YANG}:{YANG / 'ietf'}")
    for name in CLIENT_MODULES:
        context.load_module(name)
    yield context
    context.destroy()


def ncm(path: str) -> str:
    return "/".join(f"{{{NCM}}}{step}" for step in path.split("/"))


def inner_xml(data: etree._Element) -> str:
    return "".join(etree.tostring(child, encoding="unicode") for child in data)


def parse_and_validate(ctx, xml: str, *, config_only: bool = False) -> libyang.DNode:
    tree = ctx.parse_data_mem(xml, "xml", strict=True, validate_present=True, no_state=config_only)
    assert tree is not None
    return tree


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---- netconf-state --------------------------------------------------------------------------


def test_get_netconf_state_returns_capabilities_datastores_schemas_sessions_statistics(agent):
    with ncclient_connect(agent) as m:
        data = m.get(filter=NETCONF_STATE).data_ele
        state = data.find(f"{{{NCM}}}netconf-state")
        assert state is not None
        assert [etree.QName(c).localname for c in data] == ["netconf-state"]

        caps = {c.text for c in state.iterfind(ncm("capabilities/capability"))}
        assert set(m.server_capabilities) <= caps

        stores = {d.findtext(ncm("name")) for d in state.iterfind(ncm("datastores/datastore"))}
        assert stores == {"running", "candidate", "startup"}

        schemas = {s.findtext(ncm("identifier")): s for s in state.iterfind(ncm("schemas/schema"))}
        for name in OUR_MODULES:
            assert schemas[name].findtext(ncm("version")) == REVISION
            assert schemas[name].findtext(ncm("format")) in ("yang", "ncm:yang")
            assert schemas[name].findtext(ncm("namespace")).startswith("urn:nnfv:yang:")
            assert schemas[name].findtext(ncm("location")) == "NETCONF"

        sessions = {
            s.findtext(ncm("session-id")): s for s in state.iterfind(ncm("sessions/session"))
        }
        me = sessions[m.session_id]
        assert me.findtext(ncm("username")) == "admin"
        assert me.findtext(ncm("source-host")) == "127.0.0.1"
        assert me.findtext(ncm("transport")) in ("netconf-ssh", "ncm:netconf-ssh")
        assert int(me.findtext(ncm("in-rpcs"))) >= 1

        stats = state.find(ncm("statistics"))
        assert stats is not None
        assert int(stats.findtext(ncm("in-sessions"))) >= 1
        assert int(stats.findtext(ncm("in-rpcs"))) >= 1
        start = parse_time(stats.findtext(ncm("netconf-start-time")))
        assert start <= datetime.now(UTC)


def test_session_and_global_counters_count_rpcs_and_errors(agent):
    with ncclient_connect(agent) as m:

        def counters():
            state = m.get(filter=NETCONF_STATE).data_ele.find(f"{{{NCM}}}netconf-state")
            me = next(
                s
                for s in state.iterfind(ncm("sessions/session"))
                if s.findtext(ncm("session-id")) == m.session_id
            )
            stats = state.find(ncm("statistics"))
            return (
                int(me.findtext(ncm("in-rpcs"))),
                int(me.findtext(ncm("out-rpc-errors"))),
                int(stats.findtext(ncm("in-rpcs"))),
                int(stats.findtext(ncm("out-rpc-errors"))),
            )

        before = counters()
        m.get_config(source="running")
        with pytest.raises(RPCError):
            m.unlock("running")
        after = counters()
        # get-config + unlock + the first get itself
        assert after[0] - before[0] == 3
        assert after[1] - before[1] == 1
        assert after[2] - before[2] == 3
        assert after[3] - before[3] == 1


def test_closed_session_disappears_from_netconf_state(agent):
    with ncclient_connect(agent) as watcher:
        other = ncclient_connect(agent)
        other_id = other.session_id

        def listed():
            state = watcher.get(filter=NETCONF_STATE).data_ele
            return {e.text for e in state.iter(ncm("session-id"))}

        assert other_id in listed()
        other.close_session()
        deadline = time.monotonic() + 3
        while other_id in listed() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert other_id not in listed()


def test_held_lock_appears_under_datastores_with_holder_and_time(agent):
    with ncclient_connect(agent) as holder, ncclient_connect(agent) as watcher:
        time.sleep(1.1)  # so that a locked-time equal to the agent's start time is detectable
        before = datetime.now(UTC).replace(microsecond=0)
        holder.lock("running")
        state = watcher.get(filter=NETCONF_STATE).data_ele
        stores = {d.findtext(ncm("name")): d for d in state.iter(ncm("datastore"))}
        lock = stores["running"].find(ncm("locks/global-lock"))
        assert lock is not None
        assert lock.findtext(ncm("locked-by-session")) == holder.session_id
        locked_time = parse_time(lock.findtext(ncm("locked-time")))
        assert before <= locked_time <= datetime.now(UTC), (
            f"locked-time {locked_time} is not when the lock was taken (after {before})"
        )
        assert stores["candidate"].find(ncm("locks")) is None

        holder.unlock("running")
        state = watcher.get(filter=NETCONF_STATE).data_ele
        running = next(
            d for d in state.iter(ncm("datastore")) if d.findtext(ncm("name")) == "running"
        )
        assert running.find(ncm("locks")) is None


# ---- get-schema -----------------------------------------------------------------------------


def test_get_schema_returns_the_yang_text_of_nnfv_service_graph(agent, ctx):
    with ncclient_connect(agent) as m:
        text = m.get_schema("nnfv-service-graph").data
        versioned = m.get_schema("nnfv-service-graph", version=REVISION).data
        explicit = m.get_schema("nnfv-service-graph", version=REVISION, format="yang").data
    assert text.lstrip().startswith("module nnfv-service-graph")
    assert f'namespace "{NFG}"' in text
    assert f"revision {REVISION}" in text
    assert versioned == text
    assert explicit == text
    # The text is a module libyang accepts (imports resolved from the client's search path).
    fresh = libyang.Context(f"{YANG}:{YANG / 'ietf'}")
    try:
        module = fresh.parse_module_str(text)
        assert module.name() == "nnfv-service-graph"
        assert next(r.date() for r in module.revisions()) == REVISION
    finally:
        fresh.destroy()


@pytest.mark.parametrize("module", ["nnfv-nnf-template", "nnfv-node", "ietf-netconf-monitoring"])
def test_get_schema_serves_every_advertised_module(agent, module):
    with ncclient_connect(agent) as m:
        text = m.get_schema(module).data
    assert text.lstrip().startswith(f"module {module}")


def test_get_schema_of_an_unknown_module_is_invalid_value(agent):
    with ncclient_connect(agent) as m:
        with pytest.raises(RPCError) as exc:
            m.get_schema("no-such-module")
        assert exc.value.tag == "invalid-value"


def test_get_schema_of_an_unknown_revision_is_invalid_value(agent):
    with ncclient_connect(agent) as m:
        with pytest.raises(RPCError) as exc:
            m.get_schema("nnfv-service-graph", version="1999-01-01")
        assert exc.value.tag == "invalid-value"


def test_get_schema_works_over_base10_framing(agent):
    raw = RawClient(agent, base11=False)
    try:
        reply = etree.fromstring(
            raw.rpc(
                f'<get-schema xmlns="{NCM}"><identifier>nnfv-node</identifier></get-schema>'
            ).encode()
        )
    finally:
        raw.close()
    data = reply.find(f"{{{NCM}}}data")
    assert data is not None
    assert data.text.lstrip().startswith("module nnfv-node")


# ---- yang-library ---------------------------------------------------------------------------


def test_yang_library_lists_our_modules_and_matches_the_hello_content_id(agent):
    with ncclient_connect(agent) as m:
        data = m.get(filter=YANG_LIBRARY).data_ele
        hello_caps = list(m.server_capabilities)
    library = data.find(f"{{{YANGLIB}}}yang-library")
    assert library is not None
    modules = {}
    for mod in library.iter(f"{{{YANGLIB}}}module"):
        modules[mod.findtext(f"{{{YANGLIB}}}name")] = mod
    for name in (*OUR_MODULES, "ietf-netconf-monitoring", "ietf-netconf"):
        assert name in modules, f"{name} missing from yang-library"
    for name in OUR_MODULES:
        assert modules[name].findtext(f"{{{YANGLIB}}}revision") == REVISION
        assert modules[name].findtext(f"{{{YANGLIB}}}namespace").startswith("urn:nnfv:yang:")
    content_id = library.findtext(f"{{{YANGLIB}}}content-id")
    assert content_id
    yl_cap = next(c for c in hello_caps if ":yang-library:1.1" in c)
    assert f"content-id={content_id}" in yl_cap


# ---- replies validated with libyang and yanglint --------------------------------------------


def test_full_get_reply_parses_and_validates_against_the_models(agent, ctx):
    with ncclient_connect(agent) as m, ncclient_connect(agent):
        m.edit_config(target="candidate", config=example_config("graph-firewall-nat.xml"))
        m.commit()
        m.lock("startup")  # so that netconf-state carries a locks subtree too
        data = m.get().data_ele
    tops = {etree.QName(c).localname for c in data}
    assert {"graphs", "netconf-state", "yang-library"} <= tops
    tree = parse_and_validate(ctx, inner_xml(data))
    try:
        printed = tree.print_mem("xml", with_siblings=True)
        assert "<name>fw-nat</name>" in printed
        assert "<locked-by-session>" in printed
    finally:
        tree.free()


def test_get_config_reply_after_committing_the_example_validates_as_config(agent, ctx):
    with ncclient_connect(agent) as m:
        m.edit_config(target="candidate", config=example_config("graph-firewall-nat.xml"))
        m.commit()
        data = m.get_config(source="running").data_ele
    tree = parse_and_validate(ctx, inner_xml(data), config_only=True)
    try:
        graphs = [n for n in tree.first_sibling().siblings() if n.name() == "graphs"]
        assert graphs
        assert "fw-nat" in tree.print_mem("xml", with_siblings=True)
    finally:
        tree.free()


# report-all-tagged is left out: its wd:default attribute (RFC 6243 namespace) is not instance
# data of the vendored ietf-netconf-with-defaults, so yanglint cannot take it.
@pytest.mark.parametrize("with_defaults", [None, "report-all", "trim"])
def test_get_config_reply_passes_yanglint(agent, tmp_path, with_defaults):
    yanglint = shutil.which("yanglint")
    assert yanglint, "yanglint is required (Debian package yang-tools / libyang-tools)"
    with ncclient_connect(agent) as m:
        m.edit_config(target="candidate", config=example_config("graph-firewall-nat.xml"))
        m.commit()
        kw = {"with_defaults": with_defaults} if with_defaults else {}
        data = m.get_config(source="running", **kw).data_ele
    content = inner_xml(data)
    assert "fw-nat" in content
    path = tmp_path / "running.xml"
    path.write_text(content)
    # report-all shows the defaults of /nacm (RFC 8341) too.
    modules = sorted(str(p) for p in YANG.glob("nnfv-*.yang"))
    modules += [str(p) for p in (YANG / "ietf").glob("ietf-netconf-acm@*.yang")]
    result = subprocess.run(
        [yanglint, "-p", str(YANG), "-p", str(YANG / "ietf"), "-t", "config", *modules, str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip() == ""
