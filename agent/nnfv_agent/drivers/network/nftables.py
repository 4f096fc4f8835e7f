"""Steering rules as nftables netdev-ingress rules: rendering (pure) and the nft batch (I/O).

One netdev table per node holds the LSIs of all its graphs. Every port of a graph gets a base
chain on the ingress hook of its LSI-side device with policy drop, so a graph only ever forwards
between its own ports. Rules run in priority order; each rule counts into a named counter of the
table, which outlives rebuilds of the chain, so per-rule packet counters survive commits.

A change to one graph touches only that graph's chains and counters: the batch adds or flushes
and refills the chains it keeps, and deletes the chains and counters it no longer has. What to
delete comes from an `Lsi` record of what the table holds (the driver keeps it; it is read from
the kernel once, and again after a failure), so no change has to list the table first.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import AgentError
from ...model.graph import FlowRule, Graph
from ..naming import Names
from . import libnft, nfobjects

ETHER_IPV4, ETHER_IPV6 = 2048, 34525


class SteeringError(AgentError):
    app_tag = "steering-rules-failed"


@dataclass(frozen=True)
class Counter:
    packets: int = 0
    bytes: int = 0


def rule_family(rule: FlowRule) -> str | None:
    fields = dict(rule.match)
    ether = fields.get("ether-type")
    if (
        ether == str(ETHER_IPV4)
        or any(f.endswith("-ipv4") for f in fields)
        or any(f.endswith("-ipv4") for f, _ in rule.rewrites)
    ):
        return "ip"
    if (
        ether == str(ETHER_IPV6)
        or any(f.endswith("-ipv6") for f in fields)
        or any(f.endswith("-ipv6") for f, _ in rule.rewrites)
    ):
        return "ip6"
    return None


def render_match(rule: FlowRule, family: str | None) -> list[str]:
    out = []
    for field, value in rule.match:
        if field == "ether-type":
            out.append(f"ether type 0x{int(value):04x}")
        elif field == "vlan-id":
            out.append(f"vlan id {int(value)}")
        elif field in ("source-mac", "destination-mac"):
            out.append(f"ether {'saddr' if field[0] == 's' else 'daddr'} {value}")
        elif field in ("source-ipv4", "destination-ipv4"):
            out.append(f"ip {'saddr' if field[0] == 's' else 'daddr'} {value}")
        elif field in ("source-ipv6", "destination-ipv6"):
            out.append(f"ip6 {'saddr' if field[0] == 's' else 'daddr'} {value}")
        elif field == "ip-protocol":
            out.append(f"meta l4proto {int(value)}")
        elif field in ("source-port", "destination-port"):
            out.append(f"th {'sport' if field[0] == 's' else 'dport'} {int(value)}")
        elif field == "dscp":
            out.append(f"{family or 'ip'} dscp {int(value)}")
    return out


def render_actions(rule: FlowRule, targets: Mapping[str, str]) -> list[str]:
    """`targets` maps each port reference to what `fwd to`/`dup to` name: its ifindex."""
    if rule.drop:
        return ["drop"]
    out = []
    for field, value in rule.rewrites:
        _, _, which = field.partition("set-")
        direction, _, proto = which.partition("-")
        key = {"mac": "ether", "ipv4": "ip", "ipv6": "ip6"}[proto]
        out.append(f"{key} {'saddr' if direction == 'source' else 'daddr'} set {value}")
    outs = [targets[str(o)] for o in rule.outputs]
    out.extend(f"dup to {target}" for target in outs[:-1])
    if outs:
        out.append(f"fwd to {outs[-1]}")
    return out


def render_rule(rule: FlowRule, targets: Mapping[str, str], counter: str) -> list[str]:
    family = rule_family(rule)
    families = [family] if family or not dict(rule.match).get("dscp") else ["ip", "ip6"]
    comment = rule.id.replace('"', "'")[:120]
    return [
        " ".join(
            [
                *render_match(rule, fam),
                f'counter name "{counter}"',
                *render_actions(rule, targets),
                f'comment "{comment}"',
            ]
        )
        for fam in families
    ]


@dataclass(frozen=True)
class Chain:
    name: str
    device: str
    rules: tuple[str, ...]
    # The device's ifindex: a device made again is a new hook (Debian 12's 6.1 even drops the
    # chain with the old device), so the chain must be written again although nothing else
    # of it changed.
    ifindex: int


@dataclass(frozen=True)
class Lsi:
    """The objects one graph has in the node table; `written`: the chains as this process
    wrote them (empty when the record was read back from the kernel)."""

    chains: frozenset[str] = frozenset()
    counters: frozenset[str] = frozenset()
    written: frozenset[Chain] = frozenset()


@dataclass(frozen=True)
class LsiContent:
    """One graph's LSI as it must be: a base chain per port and a counter per rule."""

    chains: tuple[Chain, ...]
    counters: frozenset[str]

    def objects(self) -> Lsi:
        return Lsi(frozenset(c.name for c in self.chains), self.counters, frozenset(self.chains))


def lsi_content(
    graph: Graph, devices: Mapping[str, str], ifindex: Callable[[str], int]
) -> LsiContent:
    """`devices` maps each port reference of `graph` to its LSI-side device.

    Rules forward to an ifindex, not a name: nft 1.0.6 resolves a name by dumping every link
    of the namespace first (7 ms at 800 links), and it stores the index in the rule anyway,
    so a device made again needs its rules written again either way.
    """
    targets = {ref: str(ifindex(dev)) for ref, dev in devices.items()}
    by_port: dict[str, list[FlowRule]] = {}
    for rule in graph.rules.values():
        by_port.setdefault(str(rule.port_in), []).append(rule)
    chains = tuple(
        Chain(
            Names.lsi_chain(graph.name, devices[ref]),
            devices[ref],
            tuple(
                line
                for rule in sorted(by_port.get(ref, []), key=lambda r: (-r.priority, r.id))
                for line in render_rule(rule, targets, Names.counter(graph.name, rule.id))
            ),
            int(targets[ref]),
        )
        for ref in sorted(devices)
    )
    return LsiContent(chains, frozenset(Names.counter(graph.name, r) for r in graph.rules))


def render_changes(
    table: str,
    present: Mapping[str, Lsi],
    wanted: Mapping[str, LsiContent | None],
    drop_tables: tuple[str, ...] = (),
) -> str:
    """One atomic batch that turns the LSIs `present` (by graph tag) of `table` into `wanted`
    (None: the graph's LSI goes). Deleting an object it does not find is harmless, and so is
    adding one that is there: the batch holds even if the kernel dropped a chain on its own
    (older kernels, such as Debian 12's 6.1, do when the chain's device goes; newer ones keep
    it and hook the device again when it comes back).

    Only what differs is written: a chain exactly as this process last wrote it (same device,
    same ifindex, same rules) is left alone, and only new counters are added. Each rewritten
    chain costs the kernel a hook update, and each added rule a look-up of every chain of
    the table by nft, so a one-rule change costs one chain, not the graph's every chain.
    The counters no rule uses any more stay: `stale_counters` names them."""
    lines = [f"add table netdev {table}"]
    gone: dict[str, frozenset[str]] = {}
    for tag, new in wanted.items():
        old, kept = present.get(tag, Lsi()), new.objects() if new else Lsi()
        gone[tag] = old.chains - kept.chains

    # Chains first, all graphs: a device may move from one graph's LSI to another's.
    for tag in sorted(wanted):
        for name in sorted(gone[tag]):
            lines += [f"add chain netdev {table} {name}", f"delete chain netdev {table} {name}"]
    for tag in sorted(wanted):
        content = wanted[tag]
        if content is None:
            continue
        old = present.get(tag, Lsi())
        lines.extend(
            f"add counter netdev {table} {c}" for c in sorted(content.counters - old.counters)
        )
        for chain in content.chains:
            if chain in old.written:
                continue
            # Made (if missing), emptied, then filled by a second `add chain` whose block
            # holds the rules: nft fetches every chain and object of the namespace before an
            # `add rule`, but only the tables before an `add chain` (0.55 against 0.12 ms for
            # a one-chain change among 200 chains).
            head = (
                f"add chain netdev {table} {chain.name} {{ type filter hook ingress"
                f' device "{chain.device}" priority 0; policy drop;'
            )
            lines += [f"{head} }}", f"flush chain netdev {table} {chain.name}", head]
            lines.extend(f"  {rule}" for rule in chain.rules)
            lines.append("}")
    # The counters no rule uses any more are not deleted here (see stale_counters).
    return render_drop(drop_tables) + "\n".join(lines) + "\n"


def stale_counters(
    present: Mapping[str, Lsi], wanted: Mapping[str, LsiContent | None]
) -> list[str]:
    """The counters of `present` that `wanted` drops. They go after the batch, once no rule
    refers to them, and not in it: before any `delete`, nft fetches the whole table."""
    gone: set[str] = set()
    for tag, new in wanted.items():
        gone |= present.get(tag, Lsi()).counters - (new.counters if new else frozenset())
    return sorted(gone)


def render_drop(tables: tuple[str, ...]) -> str:
    """Delete whole tables (missing ones too)."""
    return "".join(f"table netdev {t} {{}}\ndelete table netdev {t}\n" for t in tables)


Runner = Callable[[str, bool], str]
"""Runs nft command text (what `nft -f` reads), with JSON output or not, and returns it."""

CounterDeleter = Callable[[str, Sequence[str]], None]
"""Deletes named counters of a netdev table (by table and counter names)."""


def nft_runner(netns: str | None) -> Runner:
    """libnftables in this process where it is installed (see libnft.py), else `nft`."""
    lib = libnft.library()
    if lib is None:
        return run_nft_program(netns)
    run = libnft.LibNft(lib, netns)

    def run_in_process(command: str, json: bool = False) -> str:
        try:
            return run(command, json)
        except libnft.NftCommandError as exc:
            raise SteeringError(str(exc)) from None

    return run_in_process


def run_nft_program(netns: str | None) -> Runner:
    def run(command: str, json: bool = False) -> str:
        cmd = (["ip", "netns", "exec", netns] if netns else []) + ["nft"]
        # With -j, `nft -f` would read its input as JSON: a listing goes on the command line.
        cmd += ["-j", *shlex.split(command)] if json else ["-f", "-"]
        proc = subprocess.run(
            cmd,
            input=None if json else command,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if proc.returncode != 0:
            raise SteeringError(proc.stderr.strip() or f"nft -f: {command[:80]} failed")
        return proc.stdout

    return run


class Nft:
    """nft for rule batches, counters and the node table's inventory; `list_tables` (netlink,
    see native.py) for the table inventory that supervision reads every few seconds."""

    def __init__(
        self,
        run: Runner,
        list_tables: Callable[[], list[str]] | None = None,
        delete_counters: CounterDeleter | None = None,
    ) -> None:
        self.run = run
        self.list_tables = list_tables
        self._delete_counters = delete_counters

    def apply(self, batch: str) -> None:
        if batch.strip():
            self.run(batch, False)

    def delete_counters(self, table: str, names: Sequence[str]) -> None:
        """Delete named counters of netdev `table`; missing ones (or table) are no error."""
        if not names:
            return
        if self._delete_counters is None:
            self.run(
                "".join(
                    f"add counter netdev {table} {n}\ndelete counter netdev {table} {n}\n"
                    for n in names
                ),
                False,
            )
            return
        try:
            self._delete_counters(table, names)
        except nfobjects.ObjectError as exc:
            raise SteeringError(str(exc)) from None

    def counters(self, table: str) -> dict[str, Counter]:
        """The named counters of one netdev table; none if the table does not exist."""
        if table not in self.tables():
            return {}
        out = self.run(f"list counters table netdev {table}", True)
        return {
            c["name"]: Counter(c.get("packets", 0), c.get("bytes", 0))
            for c in _items(out, "counter")
            if c.get("table") == table
        }

    def lsis(self, table: str, tag_of: Callable[[str], str | None]) -> dict[str, Lsi]:
        """What `table` holds, by graph tag (`tag_of` names the graph of an object)."""
        if table not in self.tables():
            return {}
        out = self.run(f"list table netdev {table}", True)
        chains: dict[str, set[str]] = {}
        counters: dict[str, set[str]] = {}
        for kind, into in (("chain", chains), ("counter", counters)):
            for item in _items(out, kind):
                tag = tag_of(item["name"])
                if tag is not None and item.get("table") == table:
                    into.setdefault(tag, set()).add(item["name"])
        return {
            tag: Lsi(frozenset(chains.get(tag, ())), frozenset(counters.get(tag, ())))
            for tag in chains.keys() | counters.keys()
        }

    def chains(self, table: str) -> set[str]:
        """The chain names of one netdev table (no rules: cheap to ask every few seconds)."""
        out = self.run("list chains netdev", True)
        return {c["name"] for c in _items(out, "chain") if c.get("table") == table}

    def tables(self) -> list[str]:
        if self.list_tables is not None:
            return self.list_tables()
        out = self.run("list tables netdev", True)
        return [t["name"] for t in _items(out, "table")]


def _items(out: str, kind: str) -> list[dict[str, Any]]:
    return [item[kind] for item in json.loads(out or "{}").get("nftables", []) if kind in item]
