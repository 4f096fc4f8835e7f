"""The main flows with a client not built on ncclient: scrapli 2.x (libscrapli, libssh2 or ssh).

scrapli-netconf (the old pure-Python driver) cannot be imported next to scrapli 2.x, so these
tests use the NETCONF driver that ships inside scrapli 2.x itself (`scrapli.Netconf`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest
from lxml import etree
from ncclient.operations.rpc import RPCError
from scrapli import AuthOptions, Netconf, NetconfOptions, SessionOptions, TransportSsh2Options
from scrapli.netconf import DatastoreType
from scrapli.transport import BinOptions

from support.agentproc import PASSWORD, USER, example_config
from support.clients import ncclient_connect

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NFG = "urn:nnfv:yang:nnfv-service-graph"
NCM = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
# libscrapli's own spelling; the values of scrapli.netconf.Version ("1.0", "1.1") are ignored.
BASE10, BASE11 = "version_1_0", "version_1_1"
TIMEOUT_NS = 2_000_000_000

BAD_PRIORITY = (
    f'<config xmlns="{NC}"><graphs xmlns="{NFG}"><graph><name>bad</name>'
    "<flow-rule><id>r</id><priority>not-a-number</priority></flow-rule></graph></graphs></config>"
)


@contextmanager
def scrapli_session(
    agent, version: str = BASE11, *, transport=None, auth: AuthOptions | None = None
) -> Iterator[Netconf]:
    conn = Netconf(
        "127.0.0.1",
        port=agent.port,
        options=NetconfOptions(preferred_version=version, close_force=True),
        auth_options=auth or AuthOptions(username=USER, password=PASSWORD),
        session_options=SessionOptions(operation_timeout_ns=TIMEOUT_NS),
        transport_options=transport or TransportSsh2Options(),
    )
    conn.open()
    try:
        yield conn
    except BaseException:
        with suppress(Exception):  # keep the first failure, not the close-session timeout
            conn.close()
        raise
    conn.close()


def ok(result) -> etree._Element:
    assert not result.failed, result.result
    reply = etree.fromstring(result.result.encode())
    assert reply.tag == f"{{{NC}}}rpc-reply"
    return reply


def graph_names(reply: etree._Element) -> set[str]:
    return {e.text for e in reply.iter(f"{{{NFG}}}name")}


@pytest.mark.parametrize("version", [BASE10, BASE11], ids=["base10", "base11"])
def test_edit_commit_read_back_lock_and_error_with_scrapli(agent, version):
    with scrapli_session(agent, version) as conn:
        assert conn.session_id > 0
        caps = conn.get_capabilities()
        assert "urn:ietf:params:netconf:capability:candidate:1.0" in caps

        ok(
            conn.edit_config(
                config=example_config("graph-firewall-nat.xml"), target=DatastoreType.CANDIDATE
            )
        )
        # scrapli's validate() puts <validate> in a wrong namespace, so send it raw.
        ok(conn.raw_rpc("<validate><source><candidate/></source></validate>"))
        assert graph_names(ok(conn.get_config(source=DatastoreType.RUNNING))) == set()
        ok(conn.commit())
        running = ok(conn.get_config(source=DatastoreType.RUNNING))
        assert "fw-nat" in graph_names(running)
        assert running.find(f".//{{{NFG}}}flow-rule") is not None

        ok(conn.lock(target=DatastoreType.CANDIDATE))
        with ncclient_connect(agent) as other:
            with pytest.raises(RPCError) as exc:
                other.lock("candidate")
            assert exc.value.tag == "lock-denied"
            assert f"<session-id>{conn.session_id}</session-id>" in exc.value.info
            ok(conn.unlock(target=DatastoreType.CANDIDATE))
            assert other.lock("candidate").ok
            other.unlock("candidate")

        bad = conn.edit_config(config=BAD_PRIORITY, target=DatastoreType.CANDIDATE)
        assert bad.failed
        error = etree.fromstring(bad.result.encode()).find(f"{{{NC}}}rpc-error")
        assert error is not None
        assert error.findtext(f"{{{NC}}}error-tag") == "invalid-value"
        assert error.findtext(f"{{{NC}}}error-type") == "application"
        assert "priority" in error.findtext(f"{{{NC}}}error-path")
        # The failed edit changed nothing, and the session is still usable.
        candidate = ok(conn.get_config(source=DatastoreType.CANDIDATE))
        assert "bad" not in graph_names(candidate)
        ok(conn.discard())


@pytest.mark.parametrize("version", [BASE10, BASE11], ids=["base10", "base11"])
def test_get_netconf_state_and_get_schema_with_scrapli(agent, version):
    with scrapli_session(agent, version) as conn:
        state = ok(conn.get(filter_=f'<netconf-state xmlns="{NCM}"><sessions/></netconf-state>'))
        ids = {e.text for e in state.iter(f"{{{NCM}}}session-id")}
        assert str(conn.session_id) in ids
        schema = ok(conn.get_schema("nnfv-service-graph"))
        text = schema.findtext(f"{{{NCM}}}data")
        assert text.lstrip().startswith("module nnfv-service-graph")


def test_scrapli_public_key_login(agent, client_key):
    auth = AuthOptions(username=USER, private_key_path=client_key.path)
    with scrapli_session(agent, auth=auth) as conn:
        assert conn.session_id > 0
        ok(conn.get_config(source=DatastoreType.RUNNING))


def test_scrapli_over_the_openssh_client(agent, tmp_path):
    if not shutil.which("ssh"):
        pytest.fail("the OpenSSH client (ssh) is required for this test")
    transport = BinOptions(
        known_hosts_path=str(tmp_path / "known_hosts"),
        enable_strict_key=False,
        extra_open_args=["-o", "UserKnownHostsFile=/dev/null", "-F", "/dev/null"],
    )
    with scrapli_session(agent, transport=transport) as conn:
        ok(
            conn.edit_config(
                config=example_config("graph-passthrough.xml"), target=DatastoreType.CANDIDATE
            )
        )
        ok(conn.commit())
        assert "passthrough" in graph_names(ok(conn.get_config()))
