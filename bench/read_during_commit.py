"""get-config from a second session while another session commits a graph with a slow NF start.

A native agent manages a simulated CPE (namespaces made by this run, removed at the end). A
template `slowstart` is registered whose start script sleeps --sleep seconds (default 5).
Session A commits, --commits times, a change that removes the previous `slow<k-1>` graph and
adds `slow<k>` (one NF of that template). The start script first touches a marker file; from
the moment it appears until A has the commit's reply, session B sends get-config back to back,
so every read is made while the commit is surely in progress. The same reads are first made
on the idle agent (same running configuration).

Printed: get-config p50/p99/max from B, idle and during the commits, and the content check of
every reply B got to a request sent during a commit:
  old          the running configuration from before the commit (what should be returned),
  new, late    the new running, for a request sent after the start script could have ended,
  WRONG        the new running for a request sent while the script was still sleeping (the
               read waited for the commit), or anything else (an error, a mix of both).

    python bench/read_during_commit.py [--sleep 5] [--commits 3] [--graphs 10] [--idle-n 200]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
sys.modules.setdefault("invoke", None)

from dataplane import small_graph  # noqa: E402

from graphs import graphs_config, nf_xml, rule  # noqa: E402
from nnfv_agent.netconf.client import NetconfClient  # noqa: E402
from simfleet import PASSWORD, USER, SimCpe  # noqa: E402

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
SG = "urn:nnfv:yang:nnfv-service-graph"
NT = "urn:nnfv:yang:nnfv-nnf-template"


def _template_xml():
    """tests/agent/dataplane/conftest.py's template_xml: packs a template of shell scripts."""
    path = ROOT / "tests" / "agent" / "dataplane" / "conftest.py"
    spec = importlib.util.spec_from_file_location("nnfv_dataplane_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.template_xml


def slow_graph(k: int) -> str:
    """slow<k>: one NF of the slow template between two internal endpoints."""
    ep = "".join(
        f"<endpoint><id>{s}</id><internal-group>slow{k}-{s}</internal-group></endpoint>"
        for s in ("a", "b")
    )
    return (
        f"<graph><name>slow{k}</name>{nf_xml('s', 'slowstart')}{ep}"
        + rule("1", 10, "endpoint:a", ["nf:s:in"])
        + rule("2", 10, "nf:s:out", ["endpoint:b"])
        + "</graph>"
    )


def data_of(reply: str) -> str:
    """The <data> of a get-config reply (the rpc-reply's message-id differs per request)."""
    at = reply.find("<data")
    return reply[at:] if at >= 0 else reply


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Read:
    sent: float  # time.monotonic()
    ms: float
    data: str


@dataclass
class CommitRun:
    sent: float = 0.0
    done: float = 0.0
    error: BaseException | None = None
    script: float = 0.0  # when B saw the start script's marker
    started: threading.Event = field(default_factory=threading.Event)


def commit_in_thread(a: NetconfClient, run: CommitRun) -> None:
    try:
        run.sent = time.monotonic()
        run.started.set()
        a.commit()
    except Exception as exc:  # noqa: BLE001 - reported by the main thread
        run.error = exc
    finally:
        run.done = time.monotonic()
        run.started.set()


def read_until_done(
    b: NetconfClient, worker: threading.Thread, marker: Path, run: CommitRun, max_reads: int
) -> list[Read]:
    """get-config back to back from when the start script runs until the commit is answered."""
    while worker.is_alive() and not marker.exists():
        time.sleep(0.001)
    run.script = time.monotonic()
    reads = []
    while worker.is_alive() and len(reads) < max_reads:
        sent = time.monotonic()
        t0 = time.perf_counter()
        reply = b.get_config()
        reads.append(Read(sent, (time.perf_counter() - t0) * 1000, data_of(reply)))
    return reads


def line(name: str, samples: list[float]) -> str:
    if not samples:
        return f"  {name:<38} n=0"
    return (
        f"  {name:<38} n={len(samples):<5} p50={pct(samples, 0.5):8.2f} ms  "
        f"p99={pct(samples, 0.99):8.2f} ms  max={max(samples):8.2f} ms"
    )


# Options, set-up, the measured loop and the report of one benchmark, read top to bottom.
def main() -> int:  # noqa: C901
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sleep", type=float, default=5.0, help="start script sleep, seconds")
    parser.add_argument("--commits", type=int, default=3, help="slow commits by session A")
    parser.add_argument("--graphs", type=int, default=10, help="other deployed graphs")
    parser.add_argument("--idle-n", type=int, default=200, help="get-configs on the idle agent")
    parser.add_argument(
        "--max-reads", type=int, default=20000, help="get-configs per commit at most"
    )
    parser.add_argument(
        "--deadline", type=float, default=600, help="no new commit after this many seconds"
    )
    parser.add_argument(
        "--verbose", action="store_true", help="print every read made during a commit"
    )
    args = parser.parse_args()
    template_xml = _template_xml()
    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="nnfv-bench-"))
    cpe = SimCpe(f"r{uuid.uuid4().hex[:5]}", str(base / "cpe"))
    timeout = args.sleep + 120
    idle: list[float] = []
    runs: list[tuple[CommitRun, str, str, list[Read]]] = []
    try:
        cpe.create_network()
        cpe.write_config(log_level="WARNING", script_timeout=str(int(args.sleep + 30)))
        cpe.start_agent()
        with (
            NetconfClient("127.0.0.1", cpe.port, USER, password=PASSWORD, timeout=timeout) as a,
            NetconfClient("127.0.0.1", cpe.port, USER, password=PASSWORD, timeout=timeout) as b,
        ):
            start = f'touch "{base}/$NNFV_GRAPH"\nsleep {args.sleep:g}'
            tpl = template_xml(base, "slowstart", {"start": start, "stop": "true"})
            others = [small_graph(i) for i in range(args.graphs)]
            a.edit_config(tpl + graphs_config(*others, slow_graph(0)))
            a.commit()  # the first slow commit, not measured: running now has slow0
            for _ in range(20):  # warm-up
                b.get_config()
            for _ in range(args.idle_n):
                t0 = time.perf_counter()
                b.get_config()
                idle.append((time.perf_counter() - t0) * 1000)
            for k in range(1, args.commits + 1):
                if time.monotonic() - started > args.deadline:
                    print(f"(deadline reached: {k - 1} commits measured)")
                    break
                old = data_of(b.get_config())
                a.edit_config(
                    f'<graphs xmlns="{SG}" xmlns:nc="{NC}"><graph nc:operation="remove">'
                    f"<name>slow{k - 1}</name></graph>{slow_graph(k)}</graphs>"
                )
                run = CommitRun()
                worker = threading.Thread(target=commit_in_thread, args=(a, run))
                worker.start()
                run.started.wait()
                reads = read_until_done(b, worker, base / f"slow{k}", run, args.max_reads)
                worker.join()
                if run.error is not None:
                    raise RuntimeError(f"commit {k} failed: {run.error}") from run.error
                new = data_of(b.get_config())
                runs.append((run, old, new, reads))
            a.edit_config(
                f'<graphs xmlns="{SG}" xmlns:nc="{NC}" nc:operation="remove"/>'
                f'<templates xmlns="{NT}" xmlns:nc="{NC}" nc:operation="remove"/>'
            )
            a.commit()
    finally:
        left = cpe.destroy()
        shutil.rmtree(base, ignore_errors=True)

    during: list[float] = []
    old_n = late_n = 0
    wrong: list[str] = []
    commit_ms, script_ms = [], []
    for k, (run, old, new, reads) in enumerate(runs, 1):
        commit_ms.append((run.done - run.sent) * 1000)
        script_ms.append((run.script - run.sent) * 1000)
        for r in reads:
            if args.verbose:
                kind = "old" if r.data == old else "new" if r.data == new else "other"
                print(
                    f"  commit {k}: read sent {r.sent - run.sent:+.3f} s after the commit "
                    f"(done at {run.done - run.sent:.3f} s), {r.ms:.1f} ms, {kind}"
                )
            if r.sent < run.sent or r.sent >= run.done:
                continue
            during.append(r.ms)
            if r.data == old:
                old_n += 1
            elif r.data == new and r.sent >= run.sent + args.sleep:
                late_n += 1
            elif r.data == new:
                wrong.append(
                    f"commit {k}: request sent {r.sent - run.sent:.3f} s into the commit "
                    f"waited {r.ms:.0f} ms and returned the NEW running"
                )
            else:
                wrong.append(f"commit {k}: reply is neither old nor new running: {r.data[:200]}")

    print(
        f"read_during_commit: session B get-config while session A commits a graph whose NF "
        f"start script sleeps {args.sleep:g} s"
    )
    print(
        f"  native agent, simulated CPE, {args.graphs} other deployed graphs; "
        f"{len(runs)} commits, each {statistics.median(commit_ms):.0f} ms (median), "
        f"the start script running {statistics.median(script_ms):.0f} ms after it was sent"
        if runs
        else "  no commit measured"
    )
    print(line("get-config, idle agent", idle))
    print(line("get-config, during the commits", during))
    print(
        f"  replies to requests sent during a commit: {len(during)}: old running {old_n}, "
        f"new running sent after the script could have ended {late_n}, WRONG {len(wrong)}"
    )
    for w in wrong[:10]:
        print(f"    {w}")
    if len(wrong) > 10:
        print(f"    ... and {len(wrong) - 10} more")
    p99 = pct(during, 0.99) if during else float("inf")
    ok = p99 < 20 and not wrong and old_n > 0
    print(
        f"  goal: p99 during a commit < 20 ms and every reply the old running: "
        f"{'met' if ok else 'MISSED'} (p99 {p99:.1f} ms, {len(wrong)} wrong, {old_n} old)"
    )
    if left:
        print(f"  (cleaned after the run: {len(left)} leftover objects)")
    return 0


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("run as root: the benchmark creates namespaces and cgroups")
    sys.exit(main())
