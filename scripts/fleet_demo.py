"""`make demo`: a fleet of simulated CPEs driven by ansible-playbook and the nnfv.cpe collection.

1. brings up 5 simulated CPEs (scripts/simfleet.py): network namespaces, each with its own
   nnfv-agent on 127.0.0.1, a LAN host and a WAN host;
2. pushes a firewall -> NAT graph to all of them with playbooks/push_graphs.yml (confirmed
   commits, batches);
3. pings from each LAN host to its WAN host through the chain;
4. gathers the capability inventory with playbooks/gather_inventory.yml and prints it;
5. tears everything down, also when a step fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.modules.setdefault("invoke", None)

from collection_env import BIN, ansible_env, fw_nat_config  # noqa: E402

import simfleet  # noqa: E402


def step(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def ansible_playbook(book: str, inventory: Path, extra: Path) -> int:
    cmd = [str(BIN / "ansible-playbook"), "-i", str(inventory), "-e", f"@{extra}", book]
    print("$ " + " ".join(cmd[0:1] + [Path(c).name if "/" in c else c for c in cmd[1:]]))
    return subprocess.run(cmd, env=ansible_env(forks=5), cwd=ROOT / "playbooks").returncode


def ping(cpe: simfleet.SimCpe) -> tuple[bool, str]:
    proc = subprocess.run(
        ["ip", "netns", "exec", cpe.lan_ns, "ping", "-c1", "-W2", cpe.wan_host],
        capture_output=True,
        text=True,
        timeout=10,
    )
    rtt = next((ln.split("time=")[1] for ln in proc.stdout.splitlines() if "time=" in ln), "")
    return proc.returncode == 0, rtt


def run(count: int, base: Path) -> list[str]:
    problems: list[str] = []
    step(f"1. bringing up {count} simulated CPEs")
    started = time.monotonic()
    cpes = simfleet.up(count, base, prefix="d")
    for c in cpes:
        print(
            f"  {c.id}: nnfv-agent on 127.0.0.1:{c.port}; LAN host {c.lan_ns} "
            f"({c.lan_host}), WAN host {c.wan_ns} ({c.wan_host})"
        )
    print(f"  up in {time.monotonic() - started:.1f} s; inventory {base / 'inventory.yml'}")

    reports = base / "reports"
    extra = base / "demo-vars.json"
    extra.write_text(
        json.dumps(
            {
                "service_graphs_config": [fw_nat_config()],
                "service_graphs_confirm_timeout": 60,
                "nnfv_batch_size": 5,
                "service_graphs_report_dir": str(reports / "push"),
                "capability_inventory_dir": str(reports / "inventory"),
            }
        )
    )

    step("2. pushing the firewall -> NAT graph with ansible-playbook (confirmed commits)")
    started = time.monotonic()
    if ansible_playbook("push_graphs.yml", base / "inventory.yml", extra) != 0:
        problems.append("push_graphs.yml failed")
    print(f"  push took {time.monotonic() - started:.1f} s")

    step("3. traffic: each LAN host pings its WAN host through firewall and NAT")
    for c in cpes:
        ok, rtt = ping(c)
        print(
            f"  {c.lan_ns} ({c.lan_host}) -> {c.wan_host}: "
            + (f"reply, {rtt}" if ok else "NO REPLY")
        )
        if not ok:
            problems.append(f"no traffic through {c.id}")

    step("4. capability inventory")
    if ansible_playbook("gather_inventory.yml", base / "inventory.yml", extra) != 0:
        problems.append("gather_inventory.yml failed")
    summary = reports / "inventory" / "summary.txt"
    if summary.exists():
        print("\n" + summary.read_text())
        print(f"  reports: {summary.parent}/fleet.json, fleet.csv, summary.txt")
    else:
        problems.append("no inventory summary was written")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpes", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="do not tear the fleet down")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="nnfv-demo-"))
    problems: list[str] = []
    try:
        problems = run(args.cpes, base)
    except Exception as exc:  # noqa: BLE001 (reported, then torn down)
        problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        if args.keep:
            print(
                f"\nfleet kept in {base}; tear it down with:\n"
                f"  python scripts/simfleet.py down --dir {base}"
            )
        else:
            step("5. tearing down")
            left = simfleet.down(base)
            netns = sum(1 for item in left if item.startswith("netns"))
            print(
                f"  fleet down: {args.cpes} agents stopped, namespaces removed"
                + (f" (with the {netns} NF namespaces and their cgroups)" if left else "")
            )
    print(
        "\nRESULT: "
        + ("OK, every step worked" if not problems else "FAILED: " + "; ".join(problems))
    )
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
