from __future__ import annotations

import json

from nnfv_agent.drivers.network.nftables import Counter, Nft, SteeringError


def counters_json(*items: tuple[str, str, int, int]) -> str:
    return json.dumps(
        {
            "nftables": [
                {"metainfo": {"version": "1.0.6"}},
                *(
                    {"counter": {"table": t, "name": n, "packets": p, "bytes": b}}
                    for t, n, p, b in items
                ),
            ]
        }
    )


def test_table_counters_reads_only_that_table():
    calls = []

    def run(args, stdin=None):
        calls.append(args)
        return counters_json(("nnfv_g1", "r1", 3, 180))

    assert Nft(run).table_counters("nnfv_g1") == {"r1": Counter(3, 180)}
    assert calls == [["nft", "-j", "list", "table", "netdev", "nnfv_g1"]]


def test_table_counters_of_a_table_not_there_yet_are_none():
    def run(args, stdin=None):
        raise SteeringError("Error: No such file or directory")

    assert Nft(run).table_counters("nnfv_new") == {}


def test_all_counters_groups_by_table():
    def run(args, stdin=None):
        return counters_json(("a", "r1", 1, 2), ("b", "r1", 5, 6), ("a", "r2", 0, 0))

    assert Nft(run).all_counters() == {
        "a": {"r1": Counter(1, 2), "r2": Counter(0, 0)},
        "b": {"r1": Counter(5, 6)},
    }


def test_table_inventory_comes_from_the_netlink_lister_when_given_and_never_runs_nft():
    calls: list[list[str]] = []

    def run(args: list[str], stdin: str | None = None) -> str:
        calls.append(args)
        return ""

    assert Nft(run, lambda: ["nnfv_a", "x"]).tables() == ["nnfv_a", "x"]
    assert calls == []
