"""Steering rules as nftables netdev-ingress rules: rendering (pure) and the nft batch (I/O).

One table per graph (its LSI). Every port of the graph gets a base chain on the ingress hook
of its LSI-side device with policy drop, so a graph only ever forwards between its own ports.
Rules run in priority order; each rule counts into a named counter that outlives rebuilds of
the table, so per-rule packet counters survive commits.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ...errors import AgentError
from ...model.graph import FlowRule, Graph, PortRef
from ..naming import Names

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


def render_actions(rule: FlowRule, devices: Mapping[str, str]) -> list[str]:
    if rule.drop:
        return ["drop"]
    out = []
    for field, value in rule.rewrites:
        _, _, which = field.partition("set-")
        direction, _, proto = which.partition("-")
        key = {"mac": "ether", "ipv4": "ip", "ipv6": "ip6"}[proto]
        out.append(f"{key} {'saddr' if direction == 'source' else 'daddr'} set {value}")
    outs = [devices[str(o)] for o in rule.outputs]
    out.extend(f'dup to "{dev}"' for dev in outs[:-1])
    if outs:
        out.append(f'fwd to "{outs[-1]}"')
    return out


def render_rule(rule: FlowRule, devices: Mapping[str, str]) -> list[str]:
    family = rule_family(rule)
    families = [family] if family or not dict(rule.match).get("dscp") else ["ip", "ip6"]
    counter = Names.counter(rule.id)
    comment = rule.id.replace('"', "'")[:120]
    return [
        " ".join(
            [
                *render_match(rule, fam),
                f'counter name "{counter}"',
                *render_actions(rule, devices),
                f'comment "{comment}"',
            ]
        )
        for fam in families
    ]


def render_table(
    name: str, graph: Graph, devices: Mapping[str, str], counters: Mapping[str, Counter]
) -> str:
    """The whole LSI of one graph, as table `name`. `devices` maps each port reference to its
    LSI-side device."""
    lines = [f"table netdev {name} {{"]
    for rule_id in sorted(graph.rules):
        c = counters.get(Names.counter(rule_id), Counter())
        lines.append(
            f"  counter {Names.counter(rule_id)} {{ packets {c.packets} bytes {c.bytes} }}"
        )
    by_port: dict[str, list[FlowRule]] = {}
    for rule in graph.rules.values():
        by_port.setdefault(str(rule.port_in), []).append(rule)
    for ref in sorted(devices):
        dev = devices[ref]
        lines.append(f"  chain in_{dev} {{")
        lines.append(f'    type filter hook ingress device "{dev}" priority 0; policy drop;')
        for rule in sorted(by_port.get(ref, []), key=lambda r: (-r.priority, r.id)):
            lines.extend(f"    {line}" for line in render_rule(rule, devices))
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines)


def port_refs(graph: Graph) -> list[PortRef]:
    refs = [PortRef(endpoint=e) for e in graph.endpoints]
    refs += [PortRef(nf=nf.id, port=p) for nf in graph.nfs.values() for p in nf.ports]
    return refs


def render_batch(removed: list[str], tables: list[str]) -> str:
    """Replace some graph tables atomically: `removed` are table names to drop first."""
    lines = []
    for name in removed:
        lines.append(f"table netdev {name} {{}}")  # makes the delete safe if it is missing
        lines.append(f"delete table netdev {name}")
    lines.extend(tables)
    return "\n".join(lines) + "\n"


Runner = Callable[[list[str], str | None], str]


def run_in_netns(netns: str | None) -> Runner:
    def run(args: list[str], stdin: str | None = None) -> str:
        cmd = (["ip", "netns", "exec", netns] if netns else []) + args
        proc = subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, timeout=30, check=False
        )
        if proc.returncode != 0:
            raise SteeringError(proc.stderr.strip() or f"{' '.join(args)} failed")
        return proc.stdout

    return run


class Nft:
    """nft for rule batches and counters; `list_tables` (netlink, see native.py) for the table
    inventory that supervision reads every few seconds."""

    def __init__(self, run: Runner, list_tables: Callable[[], list[str]] | None = None) -> None:
        self.run = run
        self.list_tables = list_tables

    def apply(self, batch: str) -> None:
        if batch.strip():
            self.run(["nft", "-f", "-"], batch)

    def all_counters(self) -> dict[str, dict[str, Counter]]:
        """Named counters of every netdev table: {table: {counter: Counter}}."""
        return self._parse_counters(self.run(["nft", "-j", "list", "counters", "netdev"], None))

    @staticmethod
    def _parse_counters(out: str) -> dict[str, dict[str, Counter]]:
        result: dict[str, dict[str, Counter]] = {}
        for item in json.loads(out or "{}").get("nftables", []):
            c = item.get("counter")
            if c:
                result.setdefault(c["table"], {})[c["name"]] = Counter(
                    c.get("packets", 0), c.get("bytes", 0)
                )
        return result

    def table_counters(self, table: str) -> dict[str, Counter]:
        """Named counters of one netdev table; none if the table does not exist yet."""
        # `list table` reads just that table; `list counters table` reads every table first.
        try:
            out = self.run(["nft", "-j", "list", "table", "netdev", table], None)
        except SteeringError:
            return {}
        return self._parse_counters(out).get(table, {})

    def tables(self) -> list[str]:
        if self.list_tables is not None:
            return self.list_tables()
        out = self.run(["nft", "-j", "list", "tables", "netdev"], None)
        return [t["table"]["name"] for t in json.loads(out).get("nftables", []) if "table" in t]
