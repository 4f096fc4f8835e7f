"""Commit cost against the number of graphs, edit-config cost against its size, teardown.

Everything goes through NETCONF (blocking client, no poll loop), so the same run measures any
agent version. Times are of the `commit` (or `edit-config`) RPC alone, median of --reps.

- native data plane, simulated CPE (namespaces made by this run, removed at the end): graphs
  g0..gN-1 of one bridge NF, two internal endpoints and four flow rules (bench/dataplane.py),
  deployed in batches; then one-graph changes to g0 (add a flow rule, remove it, change only
  its description) at each size, and one commit removing all the graphs (teardown);
- config-only agent (dataplane = "none", /node/allowed-interface unset): the same graphs with
  internal endpoints, then with `interface` endpoints (each graph its own interface names),
  and the same one-graph changes at each size;
- edit-config of N list entries into an empty candidate (then discard-changes): N graphs of a
  name and a description, and N flow rules in one graph.

Prints one table with the ratios the commit-core issue sets as goals.

    python bench/commit_scale.py [--quick] [--reps 5] [--deployed 10 100]
        [--config-only 100 800] [--edit-sizes 400 800 1600] [--sections native config edit]
        [--settle 10]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))
sys.modules.setdefault("invoke", None)

from dataplane import remove_graphs, small_graph  # noqa: E402

from graphs import graphs_config, rule  # noqa: E402
from local_agent import PASSWORD as LOCAL_PASSWORD  # noqa: E402
from local_agent import USER as LOCAL_USER  # noqa: E402
from local_agent import LocalAgent  # noqa: E402
from nnfv_agent.netconf.client import NetconfClient  # noqa: E402
from simfleet import PASSWORD, USER, SimCpe  # noqa: E402

SG = "urn:nnfv:yang:nnfv-service-graph"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
TIMEOUT = 1200  # seconds per RPC: today's teardown of 100 graphs takes ~20 s, edits ~10 s
BATCH = {"native": 10, "config-only": 100}  # graphs per set-up commit (not timed)

# The one-graph changes, each an edit-config of g0 only; "remove" undoes "add".
EXTRA_RULE = rule("bench-x", 20, "endpoint:a", ["nf:br:in"], match="<ether-type>2048</ether-type>")
CHANGES: dict[str, Callable[[int], str]] = {
    "add a flow rule": lambda k: f"<graph><name>g0</name>{EXTRA_RULE}</graph>",
    "remove that flow rule": lambda k: (
        f'<graph xmlns:nc="{NC}"><name>g0</name>'
        '<flow-rule nc:operation="remove"><id>bench-x</id></flow-rule></graph>'
    ),
    "description only": lambda k: (
        f"<graph><name>g0</name><description>rev {k}</description></graph>"
    ),
}


def ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def timed_commit(c: NetconfClient, config: str) -> float:
    c.edit_config(config)
    t0 = time.perf_counter()
    c.commit()
    return ms_since(t0)


def load_graphs(c: NetconfClient, start: int, stop: int, *, interfaces: bool, batch: int) -> None:
    """Graphs g<start>..g<stop-1>, `batch` per commit (not timed)."""
    for first in range(start, stop, batch):
        last = min(stop, first + batch)
        body = "".join(small_graph(i, interfaces=interfaces) for i in range(first, last))
        c.edit_config(graphs_config(body))
        c.commit()


def one_graph_changes(c: NetconfClient, reps: int) -> dict[str, float]:
    """Median commit time of each change to g0; one untimed round first (warm-up)."""
    samples: dict[str, list[float]] = {name: [] for name in CHANGES}
    for k in range(reps + 1):
        for name, change in CHANGES.items():
            elapsed = timed_commit(c, graphs_config(change(k)))
            if k:
                samples[name].append(elapsed)
    return {name: statistics.median(s) for name, s in samples.items()}


# ---- the three sections -------------------------------------------------------------------


def bench_native(
    sizes: list[int], reps: int, settle: float
) -> tuple[dict[int, dict[str, float]], float, list]:
    base = Path(tempfile.mkdtemp(prefix="nnfv-bench-"))
    cpe = SimCpe(f"c{uuid.uuid4().hex[:5]}", str(base / "cpe"))
    by_size: dict[int, dict[str, float]] = {}
    try:
        cpe.create_network()
        cpe.write_config(log_level="WARNING")
        cpe.start_agent()
        with NetconfClient("127.0.0.1", cpe.port, USER, password=PASSWORD, timeout=TIMEOUT) as c:
            loaded = 0
            for size in sizes:
                load_graphs(c, loaded, size, interfaces=False, batch=BATCH["native"])
                loaded = size
                # The NFs just started get their first supervision checks (a status script
                # each) in the next seconds; measure the commits after that, in steady state.
                time.sleep(settle)
                by_size[size] = one_graph_changes(c, reps)
                progress(f"native, {size} deployed graphs: {fmt_row(by_size[size])}")
            teardown = remove_graphs(c)
            progress(f"native, teardown of {loaded} graphs: {teardown:.0f} ms")
    finally:
        left = cpe.destroy()
        shutil.rmtree(base, ignore_errors=True)
    return by_size, teardown, left


def bench_config_only(sizes: list[int], reps: int) -> dict[str, dict[int, dict[str, float]]]:
    out: dict[str, dict[int, dict[str, float]]] = {}
    for endpoints in ("internal", "interface"):
        out[endpoints] = {}
        with (
            LocalAgent() as agent,
            NetconfClient(
                "127.0.0.1", agent.port, LOCAL_USER, password=LOCAL_PASSWORD, timeout=TIMEOUT
            ) as c,
        ):
            loaded = 0
            for size in sizes:
                load_graphs(
                    c,
                    loaded,
                    size,
                    interfaces=endpoints == "interface",
                    batch=BATCH["config-only"],
                )
                loaded = size
                out[endpoints][size] = one_graph_changes(c, reps)
                row = fmt_row(out[endpoints][size])
                progress(f"config-only, {endpoints}, {size} graphs: {row}")
    return out


def flat_graphs(n: int) -> str:
    return "".join(
        f"<graph><name>e{i}</name><description>d{i}</description></graph>" for i in range(n)
    )


def rules_in_one_graph(n: int) -> str:
    eps = "".join(
        f"<endpoint><id>{s}</id><internal-group>e-{s}</internal-group></endpoint>" for s in "ab"
    )
    rules = "".join(rule(f"r{i}", 10, "endpoint:a", ["endpoint:b"]) for i in range(n))
    return f"<graph><name>e</name>{eps}{rules}</graph>"


EDIT_SHAPES: dict[str, Callable[[int], str]] = {
    "N graphs (name, description)": flat_graphs,
    "N flow rules in one graph": rules_in_one_graph,
}


def bench_edit(sizes: list[int], reps: int) -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = {}
    with (
        LocalAgent() as agent,
        NetconfClient(
            "127.0.0.1", agent.port, LOCAL_USER, password=LOCAL_PASSWORD, timeout=TIMEOUT
        ) as c,
    ):
        for shape, make in EDIT_SHAPES.items():
            out[shape] = {}
            for n in sizes:
                config = graphs_config(make(n))
                samples = []
                for _ in range(reps):
                    t0 = time.perf_counter()
                    c.edit_config(config)
                    samples.append(ms_since(t0))
                    c.rpc("<discard-changes/>")
                out[shape][n] = statistics.median(samples)
                progress(f"edit-config, {shape}, N={n}: {out[shape][n]:.0f} ms")
    return out


# ---- report -------------------------------------------------------------------------------


def progress(line: str) -> None:
    print(f"  ... {line}", file=sys.stderr, flush=True)


def fmt_row(row: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f} ms" for k, v in row.items())


def verdict(ratio: float, goal: float, judged: bool) -> str:
    if not judged:
        return "(goal is set at other sizes)"
    return "met" if ratio <= goal else "MISSED"


def print_scaling(
    title: str, by_size: dict[int, dict[str, float]], goal: float | None, goal_sizes: tuple
) -> None:
    sizes = sorted(by_size)
    lo, hi = sizes[0], sizes[-1]
    head = "".join(f"{f'at {n}':>12}" for n in sizes)
    print(f"  {title:<24}{head}   ratio {hi}/{lo}")
    for name in CHANGES:
        cells = "".join(f"{by_size[n][name]:9.1f} ms" for n in sizes)
        ratio = by_size[hi][name] / by_size[lo][name]
        tail = ""
        if goal is not None:
            tail = f"  goal <= {goal}: {verdict(ratio, goal, (lo, hi) == goal_sizes)}"
        print(f"    {name:<22}{cells}   {ratio:6.2f}{tail}")


def print_report(args: argparse.Namespace, native, config, edit, loads: list[str]) -> None:
    print(f"commit_scale: commit RPC time of one-graph changes to g0, median of {args.reps}")
    print(f"  (1-minute load average, {os.cpu_count()} CPUs: {', '.join(loads)})")
    if native:
        by_size, teardown, left = native
        print("native data plane, simulated CPE; graphs of 1 bridge NF, 2 internal endpoints")
        print_scaling("deployed graphs:", by_size, 1.2, (10, 100))
        print(
            f"    teardown: one commit removing all {max(by_size)} deployed graphs: "
            f"{teardown:.0f} ms (one run)"
        )
        if left:
            print(f"    (cleaned after the run: {len(left)} leftover objects)")
    if config:
        print('config-only agent (dataplane = "none", /node/allowed-interface unset)')
        print_scaling("internal endpoints:", config["internal"], None, ())
        print_scaling("interface endpoints:", config["interface"], None, ())
        by_size = config["interface"]
        lo, hi = min(by_size), max(by_size)
        ratio = by_size[hi]["description only"] / by_size[lo]["description only"]
        print(
            f"    goal: description-only change, interface endpoints, {hi} vs {lo} graphs "
            f"<= 1.5: {ratio:.2f} {verdict(ratio, 1.5, (lo, hi) == (100, 800))}"
        )
    if edit:
        print(
            f"edit-config into the empty candidate (config-only agent), median of {args.edit_reps}"
        )
        sizes = sorted(next(iter(edit.values())))
        print(f"  {'list entries N':<30}" + "".join(f"{n:>10}" for n in sizes) + "   exponent k")
        for shape, by_n in edit.items():
            cells = "".join(f"{by_n[n]:7.0f} ms" for n in sizes)
            k = math.log(by_n[sizes[-1]] / by_n[sizes[0]]) / math.log(sizes[-1] / sizes[0])
            print(f"    {shape:<28}{cells}   {k:6.2f}  {'met' if k <= 1.2 else 'MISSED'}")
        print("    goal: linear in size; k fits time ~ N^k (linear 1, quadratic 2), met if <= 1.2")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and 3 repetitions")
    parser.add_argument("--reps", type=int, help="commits per change and size (default 5)")
    parser.add_argument("--edit-reps", type=int, help="edit-configs per size (default 3)")
    parser.add_argument(
        "--settle",
        type=float,
        default=10.0,
        help="seconds to wait after deploying, before the native commits (default 10: two "
        "supervision intervals)",
    )
    parser.add_argument("--deployed", type=int, nargs="+", help="default 10 100")
    parser.add_argument("--config-only", type=int, nargs="+", help="default 100 800")
    parser.add_argument("--edit-sizes", type=int, nargs="+", help="default 400 800 1600")
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=("native", "config", "edit"),
        default=["native", "config", "edit"],
    )
    args = parser.parse_args()
    quick = args.quick
    args.reps = args.reps or (3 if quick else 5)
    args.edit_reps = args.edit_reps or (1 if quick else 3)
    deployed = sorted(args.deployed or ([10, 30] if quick else [10, 100]))
    config_only = sorted(args.config_only or ([100, 200] if quick else [100, 800]))
    edit_sizes = sorted(args.edit_sizes or ([200, 400, 800] if quick else [400, 800, 1600]))

    loads = [f"at start {os.getloadavg()[0]:.1f}"]

    def section(name: str, run: Callable[[], object]) -> object:
        if name not in args.sections:
            return None
        result = run()
        loads.append(f"after {name} {os.getloadavg()[0]:.1f}")
        return result

    native = section("native", lambda: bench_native(deployed, args.reps, args.settle))
    config = section("config", lambda: bench_config_only(config_only, args.reps))
    edit = section("edit", lambda: bench_edit(edit_sizes, args.edit_reps))
    print_report(args, native, config, edit, loads)
    return 0


if __name__ == "__main__":
    if os.geteuid() != 0 and "--help" not in sys.argv and "-h" not in sys.argv:
        sys.exit("run as root: the native section creates namespaces and cgroups")
    sys.exit(main())
