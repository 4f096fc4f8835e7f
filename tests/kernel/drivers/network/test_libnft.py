"""libnftables in the agent's process: batches and listings in the right namespace, on
contexts that are pooled, dropped with their namespace and freed with their runner."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import threading
import uuid

import pytest

from nnfv_agent.drivers.network import libnft, nftables
from support.kernel import open_sockets

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and nftables need root"),
    pytest.mark.skipif(libnft.library() is None, reason="libnftables is not installed"),
]


def netdev_tables(netns: str | None) -> list[str]:
    cmd = (["ip", "netns", "exec", netns] if netns else []) + ["nft", "-j", "list", "tables"]
    out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    return [i["table"]["name"] for i in out["nftables"] if "table" in i]


def runner(netns: str | None) -> libnft.LibNft:
    lib = libnft.library()
    assert lib is not None
    return libnft.LibNft(lib, netns)


def test_batch_is_applied_in_the_named_namespace_and_not_in_the_callers(netns):
    table = f"nnfvtest_{uuid.uuid4().hex[:6]}"
    run = runner(netns)

    run(f"add table netdev {table}\nadd counter netdev {table} c1\n")

    assert table in netdev_tables(netns)
    assert table not in netdev_tables(None)


def test_listing_in_json_is_nfts_json(netns):
    run = runner(netns)
    run("add table netdev t\nadd counter netdev t c1\n")

    listing = json.loads(run("list counters table netdev t", json=True))

    counters = [i["counter"] for i in listing["nftables"] if "counter" in i]
    assert [(c["name"], c["packets"]) for c in counters] == [("c1", 0)]
    assert run("list counters table netdev t").lstrip().startswith("table netdev t")


def test_refused_command_raises_with_nfts_message_and_the_context_stays_usable(netns):
    run = runner(netns)

    with pytest.raises(libnft.NftCommandError, match="No such file or directory"):
        run("delete table netdev not_there\n")
    run("add table netdev after_error\n")

    assert "after_error" in netdev_tables(netns)


def test_a_failing_batch_changes_nothing(netns):
    run = runner(netns)

    with pytest.raises(libnft.NftCommandError):
        run("add table netdev half\nadd chain netdev half c { type filter hook nowhere; }\n")

    assert "half" not in netdev_tables(netns)


def test_namespace_made_again_under_the_same_name_gets_a_fresh_context(netns):
    run = runner(netns)
    run("add table netdev first\n")
    subprocess.run(["ip", "netns", "del", netns], check=True)
    subprocess.run(["ip", "netns", "add", netns], check=True)

    run("add table netdev second\n")

    assert netdev_tables(netns) == ["second"]


def test_namespace_gone_is_a_clear_error(netns):
    run = runner(netns)
    run("add table netdev t\n")
    subprocess.run(["ip", "netns", "del", netns], check=True)

    with pytest.raises(libnft.NftCommandError, match=f"network namespace {netns}"):
        run("list tables\n")


def test_concurrent_callers_each_get_their_own_context_and_all_succeed(netns):
    run = runner(netns)
    run("add table netdev t\n")
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(20):
                run(f"add counter netdev t c{i}_{j}\n")
                json.loads(run("list counters table netdev t", json=True))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    listing = json.loads(run("list counters table netdev t", json=True))
    assert len([i for i in listing["nftables"] if "counter" in i]) == 6 * 20
    assert len(run._idle) <= run.max_idle


def test_runner_that_goes_away_closes_its_netlink_sockets(netns):
    before = open_sockets()
    run = runner(netns)
    threads = [threading.Thread(target=run, args=("list tables\n",)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    its_own = open_sockets() - before
    assert its_own

    del run, threads
    gc.collect()

    assert open_sockets() & its_own == set()


@pytest.mark.parametrize("make", [nftables.nft_runner, nftables.run_nft_program])
def test_both_runners_apply_the_same_batch_list_the_same_and_refuse_alike(netns, make):
    run = make(netns)
    run("add table netdev t\nadd counter netdev t c1\n", False)

    listing = json.loads(run("list counters table netdev t", True))

    assert [i["counter"]["name"] for i in listing["nftables"] if "counter" in i] == ["c1"]
    with pytest.raises(nftables.SteeringError, match="No such file or directory"):
        run("delete table netdev not_there\n", False)
