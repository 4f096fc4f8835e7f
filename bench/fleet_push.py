"""Fleet push wall time: nnfv.cpe.service_graph against ansible.netcommon.netconf_config.

For each fleet size (default 10 and 50 simulated CPEs), one graph (firewall -> NAT) per CPE:

  service_graph, confirmed   first push (confirm_timeout, confirmed once deployed), then the
                             same push again (idempotent: changed=0, one get-config per CPE)
  service_graph, plain       the same with a plain commit
  netconf_config (baseline)  the same graph as edit-config XML, lock/commit by netconf_config

The graphs are deleted between variants (not timed). Prints one table; not a pass/fail test.

    python bench/fleet_push.py [--sizes 10 50] [--forks 50]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.modules.setdefault("invoke", None)

from collection_env import fw_nat_config, playbook  # noqa: E402

import simfleet  # noqa: E402
from graphs import fw_nat_graph, graphs_config  # noqa: E402

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


def task_ours(confirm_timeout: int) -> dict:
    return {
        "name": "push",
        "nnfv.cpe.service_graph": {
            "config": [fw_nat_config()],
            "state": "merged",
            "confirm_timeout": confirm_timeout,
        },
    }


def task_baseline() -> dict:
    xml = f'<config xmlns="{NC}">{graphs_config(fw_nat_graph())}</config>'
    return {"name": "push", "ansible.netcommon.netconf_config": {"content": xml}}


CLEAN = {"name": "push", "nnfv.cpe.service_graph": {"state": "deleted"}}


def run(base: Path, inventory: Path, task: dict, forks: int) -> dict:
    book = base / f"bench-{secrets.token_hex(3)}.yml"
    book.write_text(json.dumps([{"hosts": "cpes", "gather_facts": False, "tasks": [task]}]))
    started = time.monotonic()
    rc, out, err = playbook(book, inventory, forks=forks, timeout=1200)
    wall = time.monotonic() - started
    if not isinstance(out, dict):
        raise RuntimeError(f"ansible-playbook rc={rc}: {str(out)[-2000:]} {err[-2000:]}")
    hosts = out["plays"][0]["tasks"][0]["hosts"]
    rpcs = [len(r.get("rpcs", [])) for r in hosts.values() if "rpcs" in r]
    return {
        "wall": wall,
        "changed": sum(1 for r in hosts.values() if r.get("changed")),
        "failed": sum(1 for r in hosts.values() if r.get("failed")),
        "rpcs": max(rpcs) if rpcs else None,
    }


def bench_size(count: int, forks: int) -> list[tuple]:
    base = Path(tempfile.mkdtemp(prefix="nnfv-bench-"))
    rows = []
    try:
        started = time.monotonic()
        simfleet.up(count, base, prefix="b" + secrets.token_hex(1))
        print(f"[{count} CPEs up in {time.monotonic() - started:.1f} s]", flush=True)
        inventory = base / "inventory.yml"
        variants = [
            ("service_graph, confirmed", task_ours(60)),
            ("service_graph, plain", task_ours(0)),
            ("netconf_config (baseline)", task_baseline()),
        ]
        for label, task in variants:
            run(base, inventory, CLEAN, forks)
            first = run(base, inventory, task, forks)
            second = run(base, inventory, task, forks)
            rows.append((count, label, first, second))
            print(
                f"  {label:27s} first {first['wall']:6.1f} s (changed {first['changed']}, "
                f"failed {first['failed']}), second {second['wall']:6.1f} s "
                f"(changed {second['changed']})",
                flush=True,
            )
    finally:
        simfleet.down(base)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--forks", type=int, default=50)
    args = parser.parse_args()
    rows = []
    for count in args.sizes:
        rows += bench_size(count, min(args.forks, count))
    print()
    print(
        f"{'CPEs':>4}  {'variant':27s} {'first (s)':>9} {'second (s)':>10} {'2nd/1st':>7} "
        f"{'changed 1st/2nd':>15} {'RPCs/task 1st/2nd':>17}"
    )
    for count, label, first, second in rows:
        rpcs = f"{first['rpcs'] or '-'}/{second['rpcs'] or '-'}"
        print(
            f"{count:>4}  {label:27s} {first['wall']:9.1f} {second['wall']:10.1f} "
            f"{second['wall'] / first['wall']:7.2f} "
            f"{str(first['changed']) + '/' + str(second['changed']):>15} {rpcs:>17}"
        )
    for count in args.sizes:
        by = {label: (f, s) for c, label, f, s in rows if c == count}
        base_first = by["netconf_config (baseline)"][0]["wall"]
        for label in ("service_graph, confirmed", "service_graph, plain"):
            ratio = by[label][0]["wall"] / base_first
            print(f"{count} CPEs: {label} / baseline, first run: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
