"""Named counters deleted over netlink: in the right namespace, all or nothing, missing ones
no error, and a counter a rule still uses refused with a message that names it."""

from __future__ import annotations

import gc
import json
import os
import subprocess

import pytest

from nnfv_agent.drivers.network.nfobjects import CounterDeleter, ObjectError
from support.kernel import open_sockets

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and nftables need root")


def nft(netns: str, script: str) -> None:
    subprocess.run(
        ["ip", "netns", "exec", netns, "nft", "-f", "-"], input=script, text=True, check=True
    )


def counters(netns: str) -> list[str]:
    out = subprocess.run(
        ["ip", "netns", "exec", netns, "nft", "-j", "list", "counters"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(i["counter"]["name"] for i in json.loads(out)["nftables"] if "counter" in i)


def with_counters(netns: str, *names: str) -> None:
    nft(netns, "add table netdev t\n" + "".join(f"add counter netdev t {n}\n" for n in names))


def test_named_counters_are_deleted_in_the_named_namespace_only(netns):
    with_counters(netns, "c1", "c2", "c3")

    CounterDeleter(netns)("t", ["c1", "c3"])

    assert counters(netns) == ["c2"]


def test_counters_or_a_table_that_are_not_there_are_no_error(netns):
    with_counters(netns, "c1", "c2")
    delete = CounterDeleter(netns)

    delete("t", ["gone", "c1", "also-gone"])
    delete("no_such_table", ["c2"])

    assert counters(netns) == ["c2"]


def test_a_counter_a_rule_uses_is_refused_by_name_and_nothing_is_deleted(netns):
    with_counters(netns, "c1", "used")
    nft(netns, 'add chain netdev t c\nadd rule netdev t c counter name "used" accept\n')

    with pytest.raises(ObjectError, match="cannot delete counter used: Device or resource busy"):
        CounterDeleter(netns)("t", ["c1", "used"])

    assert counters(netns) == ["c1", "used"]


def test_namespace_made_again_under_the_same_name_gets_a_fresh_socket(netns):
    delete = CounterDeleter(netns)
    with_counters(netns, "c1")
    delete("t", ["c1"])
    subprocess.run(["ip", "netns", "del", netns], check=True)
    subprocess.run(["ip", "netns", "add", netns], check=True)
    with_counters(netns, "c1", "c2")

    delete("t", ["c1"])

    assert counters(netns) == ["c2"]


def test_namespace_gone_is_a_clear_error(netns):
    delete = CounterDeleter(netns)
    subprocess.run(["ip", "netns", "del", netns], check=True)

    with pytest.raises(ObjectError, match=f"network namespace {netns}"):
        delete("t", ["c1"])


def test_one_socket_serves_every_call_and_goes_with_its_deleter(netns):
    before = open_sockets()
    delete = CounterDeleter(netns)
    for i in range(20):
        with_counters(netns, f"c{i}")
        delete("t", [f"c{i}"])
    its_own = open_sockets() - before
    assert len(its_own) == 1

    del delete
    gc.collect()

    assert open_sockets() & its_own == set()
    assert counters(netns) == []
