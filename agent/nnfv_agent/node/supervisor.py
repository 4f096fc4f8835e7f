"""Runtime supervision: every deployed NF instance and LSI is watched and repaired.

Units: each NF instance (its processes, namespace, ports and status script) and each enabled
graph's LSI (its nft table and its vxlan/internal endpoint devices). A process death is seen at
once (a pidfd per process present after start, in one selector); everything else by a periodic
check of each unit every `supervise_interval` seconds, the units of a round spread over half
of it.

A failure is confirmed under the writer of running (so a commit that stops or replaces the unit
on purpose is never mistaken for one), recorded (the NF's state turns `failed` with the reason),
announced (`nf-state-change` and `graph-change degraded`) and repaired under the unit's restart
policy (`restart.py`). Repairs also run as the writer of running: a commit and a repair never
interleave. Health checks (status scripts, netlink and nft reads) run without any lock.

`get` reads `health` (one immutable record per unit, replaced whole) and never waits on this
thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ..commit.deployment import Deployment
from ..commit.planner import GraphPlanner
from ..drivers.compute.native import ComputeError
from ..drivers.network.links import LinkError
from ..drivers.network.native import NetworkError
from ..fsutil import FileVersion
from ..model.graph import SG
from ..xmlutil import event_xml
from .restart import RestartCounter, RestartPolicy
from .units import RUNNING, Kernel, View, lsi_problem, nf_problem, repair_lsi, restart_instance

log = logging.getLogger(__name__)

LSI = "lsi:"  # unit key prefix of a graph's LSI; NF units are keyed by their instance key
# The periodic checks of a round are spread over this share of `supervise_interval`.
ROUND_SPREAD = 0.5
Writer = Callable[[], contextlib.AbstractContextManager[None]]


class Supervised(Kernel, Protocol):
    """What the supervisor watches and repairs through: the deployed view, the drivers, and
    where events go. The data plane is one; declared here so that node/ does not import it."""

    @property
    def planner(self) -> GraphPlanner: ...

    def publish(self, event: str) -> None: ...


@dataclass(frozen=True)
class Health:
    """What `get` shows about a unit the supervisor has seen fail at least once."""

    failed: bool
    reason: str | None = None
    last_failure: str | None = None
    restarts: int = 0
    last_restarted: str | None = None
    next_restart: str | None = None
    exhausted: bool = False


@dataclass
class _Unit:
    counter: RestartCounter
    failed: bool = False
    reason: str = ""
    due: float | None = None  # monotonic time of the next repair
    graphs: tuple[str, ...] = ()


@dataclass
class _Watch:
    stamp: str | None  # the start time it was taken at: a restart makes it stale
    version: FileVersion | None = None  # of the state file it was read from
    pidfds: dict[int, int] = field(default_factory=dict)  # fd -> pid


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class Supervisor:
    def __init__(self, dp: Supervised, interval: float, policy: RestartPolicy) -> None:
        self.dp = dp
        self.interval = interval
        self.policy = policy
        # The single writer of running (Datastores.writer); the agent sets it before start().
        self.writer: Writer = contextlib.nullcontext
        self.health: dict[str, Health] = {}  # read by `get` without a lock
        self._units: dict[str, _Unit] = {}
        # The units of the deployment seen last. A deployment is never changed in place, so
        # they are worked out again only after a commit that replaced it: the loop also wakes
        # after commits that did not, and must not walk every unit of the node each time.
        self._seen: tuple[Deployment, dict[str, tuple[str, ...]]] | None = None
        # The units still to check in this round, the time between two, and what the round
        # read of the kernel (links, LSI chains): once per round, not once per unit.
        self._round: list[str] = []
        self._gap = 0.0
        self._view: View | None = None
        self._watches: dict[str, _Watch] = {}
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._resync = threading.Event()
        # Instances whose processes to watch again at the next resync; None: all of them.
        self._resync_keys: set[str] | None = set()
        self._resync_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- life -------------------------------------------------------------------------

    def start(self) -> None:
        self.changed(None)
        self._thread = threading.Thread(target=self._run, name="nf-supervisor", daemon=True)
        self._thread.start()
        self._wake()  # watch the processes now, not after the first interval

    def stop(self, timeout: float = 40.0) -> None:
        """Stop watching; waits for a repair in progress (bounded by the script timeout)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("the supervisor did not stop within %.0f s", timeout)
                return
        for key in list(self._watches):
            self._unwatch(key)
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def changed(self, keys: Collection[str] | None) -> None:
        """A commit was applied or undone: watch the processes of instances `keys` (the ones
        it touched; None: all) as they run now. Only those: the resync runs as the writer, and
        a stat per instance of the node would make every commit wait longer the more NFs run."""
        with self._resync_lock:
            if keys is None or self._resync_keys is None:
                self._resync_keys = None
            else:
                self._resync_keys.update(keys)
        self._resync.set()
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _run(self) -> None:
        next_round = time.monotonic() + self.interval
        next_check = next_round
        suspects: set[str] = set()
        while not self._stop.is_set():
            now = time.monotonic()
            due = min((u.due for u in self._units.values() if u.due is not None), default=None)
            until = min(next_round, next_check if self._round else next_round)
            until = until if due is None else min(until, due)
            for key, _mask in self._selector.select(max(0.0, until - now)):
                if key.data is None:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 4096)
                else:
                    # A pidfd stays readable once its process exited: stop selecting it.
                    self._selector.unregister(key.fd)
                    suspects.add(key.data)
            if self._stop.is_set():
                break
            try:
                if self._resync.is_set():
                    self._resync.clear()
                    with self._resync_lock:
                        keys, self._resync_keys = self._resync_keys, set()
                    with self.writer():
                        self._sync_watches(
                            self.dp.planner.current, None if keys is None else sorted(keys)
                        )
                now = time.monotonic()
                if now >= next_round:
                    next_round = now + self.interval
                    self._start_round()
                    next_check = now
                scheduled: set[str] = set()
                if self._round and now >= next_check:
                    scheduled.add(self._round.pop())
                    next_check = max(now, next_check + self._gap)
                self._cycle(suspects, scheduled, now)
            except Exception:
                log.exception("supervision cycle failed")
            suspects.clear()

    def _start_round(self) -> None:
        """Check every unit once in the next `ROUND_SPREAD` of the interval, one at a time.
        Back to back, the status scripts of 100 NFs made a burst of work at every interval,
        and each commit (or packet) that met it waited behind it."""
        units = self._current_units(self.dp.planner.current)
        self._round = sorted(units, reverse=True)  # popped from the end: in name order
        self._gap = self.interval * ROUND_SPREAD / max(1, len(self._round))
        self._view = None  # the links and chains are read again, once per round

    # ---- one cycle ----------------------------------------------------------------------

    def _units_of(self, dep: Deployment) -> dict[str, tuple[str, ...]]:
        """Every unit to watch now, with the graphs it belongs to."""
        units = {key: tuple(sorted({m.graph for m in ms})) for key, ms in dep.by_key.items()}
        broken = {g for g, _nf in dep.unresolved}
        for name in dep.enabled():
            if name not in broken:  # its LSI cannot be whole: the graph is reported failed
                units[LSI + name] = (name,)
        return units

    def _current_units(self, dep: Deployment) -> dict[str, tuple[str, ...]]:
        """The units of deployment `dep`; those it no longer has are forgotten."""
        if self._seen is not None and self._seen[0] is dep:
            return self._seen[1]
        units = self._units_of(dep)
        self._view = None  # a commit replaced it: what the round read may be out of date
        for key in [k for k in self._units if k not in units]:
            del self._units[key]
            self.health.pop(key, None)
        self._seen = (dep, units)
        return units

    def _cycle(self, suspects: set[str], scheduled: set[str], now: float) -> None:
        """Repair what is due, then check the units whose processes exited (`suspects`) and
        those the round has come to (`scheduled`)."""
        dep = self.dp.planner.current
        units = self._current_units(dep)
        for key in sorted(k for k, u in self._units.items() if u.due is not None and u.due <= now):
            if not self._stop.is_set():
                self._repair(key)
        targets = {key for key in suspects | scheduled if key in units}
        if not targets:
            return
        if self._view is None:
            self._view = View(self.dp)
        view = self._view
        for key in sorted(targets):
            if self._stop.is_set():
                return
            unit = self._units.get(key)
            if unit is not None and unit.failed and unit.due is not None:
                continue  # a repair is already scheduled
            reason = self._check(key, dep, view)
            if reason is None:
                self._healthy(key, units[key])
            else:
                self._failed(key, reason)

    def _check(self, key: str, dep: Deployment, view: View | None) -> str | None:
        """Why unit `key` is not healthy now; None if it is (or is not ours to judge)."""
        view = view or View(self.dp)
        if key.startswith(LSI):
            graph = dep.graphs.get(key[len(LSI) :])
            return None if graph is None else lsi_problem(self.dp, graph, view)
        members = dep.instances([key]).get(key)
        if not members:
            return None
        watch = self._watches.get(key)
        return nf_problem(self.dp, members, view, watch.pidfds if watch else {})

    # ---- transitions ------------------------------------------------------------------

    def _unit(self, key: str, dep: Deployment) -> _Unit:
        policy = self._policy(key, dep)
        unit = self._units.get(key)
        if unit is None:
            unit = self._units[key] = _Unit(RestartCounter(policy))
        unit.counter.policy = policy  # a commit may have changed it
        unit.graphs = self._current_units(dep).get(key, ())
        return unit

    def _policy(self, key: str, dep: Deployment) -> RestartPolicy:
        members = dep.by_key.get(key)
        if not members:
            return self.policy
        lead = min(members, key=lambda m: (m.graph, m.nf.id))
        return self.policy.overridden(lead.template.restart).overridden(lead.nf.restart)

    def _healthy(self, key: str, graphs: tuple[str, ...]) -> None:
        unit = self._units.get(key)
        if unit is None:
            return
        unit.counter.healthy(time.monotonic())
        if unit.failed:  # repaired by a commit, not by us
            unit.failed, unit.due = False, None
            self._recovered(key, unit)

    def _failed(self, key: str, reason: str) -> None:
        unit = self._units.get(key)
        if unit is not None and unit.failed:
            return  # known, and its restarts are used up
        with self.writer():
            # Confirmed as the writer: a commit may just have replaced or removed the unit.
            dep = self.dp.planner.current
            if key not in self._current_units(dep):
                return
            self._sync_watches(dep, [key])
            reason_now = self._check(key, dep, None)
            if reason_now is None:
                return
            unit = self._unit(key, dep)
            log.warning("supervisor: %s failed: %s", self._name(key, dep), reason_now)
            self._schedule(key, unit, dep, reason_now, first=True)

    def _schedule(self, key: str, unit: _Unit, dep: Deployment, reason: str, first: bool) -> None:
        """Record a failure (as the writer) and plan the next repair, if any."""
        now = time.monotonic()
        delay = unit.counter.failed(now)
        unit.failed, unit.reason = True, reason
        wall = datetime.now(UTC)
        policy = unit.counter.policy
        if delay is None:
            unit.due = None
            why = (
                "automatic restart is off"
                if not policy.auto_restart
                else f"gave up after {unit.counter.count} restart(s)"
            )
            told = f"{reason}; {why}, it stays failed"
        else:
            unit.due = now + delay
            told = f"{reason}; restart {unit.counter.count} in {delay:g} s"
        members = dep.by_key.get(key)
        if members:
            # The state file before the health record: `get` reads them in the other order,
            # so a reply that shows this failure's health also shows its reason.
            self.dp.compute.mark_failed(key, told)
        before = self.health.get(key)
        self.health[key] = Health(
            True,
            told,
            _iso(wall),
            unit.counter.count - (0 if delay is None else 1),  # attempts made so far
            before.last_restarted if before else None,
            None if delay is None else _iso(wall + timedelta(seconds=delay)),
            delay is None,
        )
        if members:
            for m in members:
                self.dp.compute.on_state(m.graph, m.nf.id, "failed", told)
        if first:
            for graph in unit.graphs:
                self.dp.publish(
                    event_xml(SG, "graph-change", graph=graph, event="degraded", reason=told)
                )

    def _recovered(self, key: str, unit: _Unit) -> None:
        self._record_healthy(key, unit, restarted=False)
        self._recovered_graphs(key, unit)

    def _record_healthy(self, key: str, unit: _Unit, *, restarted: bool) -> None:
        """Healthy again; the last failure and the restarts so far stay on record."""
        before = self.health.get(key)
        if restarted:
            last_restarted: str | None = _iso(datetime.now(UTC))
        else:
            last_restarted = before.last_restarted if before else None
        self.health[key] = Health(
            False, None, before.last_failure if before else None, unit.counter.count, last_restarted
        )

    def _repair(self, key: str) -> None:
        unit = self._units[key]
        unit.due = None
        with self.writer():
            dep = self.dp.planner.current
            if key not in self._current_units(dep):
                return
            unit = self._unit(key, dep)
            name = self._name(key, dep)
            log.info("supervisor: repairing %s (attempt %d)", name, unit.counter.count)
            try:
                if key.startswith(LSI):
                    repair_lsi(self.dp, dep.graphs[key[len(LSI) :]])
                else:
                    restart_instance(self.dp, dep.instances([key])[key], dep.graphs)
            except (ComputeError, NetworkError, LinkError, OSError) as exc:
                log.error("supervisor: repairing %s failed: %s", name, exc)
                self._schedule(key, unit, dep, f"restart failed: {exc}", first=False)
                return
            self._sync_watches(dep, [key])
            self._record_healthy(key, unit, restarted=True)
            unit.failed = False
            unit.counter.healthy(time.monotonic())
            log.info("supervisor: %s repaired", name)
        self._recovered_graphs(key, unit)

    def _recovered_graphs(self, key: str, unit: _Unit) -> None:
        for graph in unit.graphs:
            if not any(u.failed for u in self._units.values() if graph in u.graphs):
                self.dp.publish(event_xml(SG, "graph-change", graph=graph, event="recovered"))

    @staticmethod
    def _name(key: str, dep: Deployment) -> str:
        if key.startswith(LSI):
            return f"the LSI of graph {key[len(LSI) :]}"
        members = dep.by_key.get(key, ())
        return "NF " + ", ".join(f"{m.graph}/{m.nf.id}" for m in members) if members else key

    # ---- process watches --------------------------------------------------------------

    def _sync_watches(self, dep: Deployment, keys: list[str] | None = None) -> None:
        """Watch the processes of each running instance as they are since its last start.
        Called as the writer, so no commit's script is among them."""
        wanted = set(dep.by_key)
        for key in [k for k in self._watches if k not in wanted]:
            self._unwatch(key)
        for key in sorted(wanted if keys is None else set(keys) & wanted):
            # After every commit: a stat per instance, and a read only of those whose state
            # changed (reading them all cost milliseconds per commit at 100 NFs, as the writer).
            version = self.dp.compute.state_version(key)
            watch = self._watches.get(key)
            if watch is not None and version is not None and watch.version == version:
                continue
            state = self.dp.compute.load_state(key)
            stamp = state.start_time if state is not None and state.state in RUNNING else None
            if watch is not None and watch.stamp == stamp:
                watch.version = version
                continue
            self._unwatch(key)
            watch = self._watches[key] = _Watch(stamp, version)
            if stamp is None:
                continue
            for pid in self.dp.compute.pids(key):
                try:
                    fd = os.pidfd_open(pid)
                except OSError:
                    continue  # gone already: the next check sees it
                watch.pidfds[fd] = pid
                self._selector.register(fd, selectors.EVENT_READ, key)

    def _unwatch(self, key: str) -> None:
        watch = self._watches.pop(key, None)
        if watch is None:
            return
        for fd in watch.pidfds:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(fd)
            os.close(fd)
