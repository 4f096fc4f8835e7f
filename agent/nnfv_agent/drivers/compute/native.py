"""The native compute driver: one network namespace, workdir and cgroup per NNF instance."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ...errors import AgentError
from ...fsutil import FileVersion, atomic_write, file_version, read_or_empty
from ...model.template import Template, template_from_dict, template_to_dict
from ..network.links import LinkError, create_netns, delete_netns, port_states
from .cgroups import CgroupError, Cgroups, Limits
from .instance import NFInstance
from .scripts import SAFE_PATH, ScriptError, run_script

log = logging.getLogger(__name__)


class ComputeError(AgentError):
    app_tag = "nf-failed"


@dataclass
class NFState:
    """What is persisted about an instance, so that stop and delete work after a restart."""

    key: str
    graph: str
    nf: str
    template: str
    sha256: str
    netns: str
    cgroup: str
    workdir: str
    state: str = "created"
    start_time: str | None = None
    last_error: str | None = None
    graphs: list[str] = field(default_factory=list)
    descriptor: dict = field(default_factory=dict)  # the template it runs, for stop after restart
    params: dict = field(default_factory=dict)  # the parameters its scripts last saw


class NativeCompute:
    def __init__(
        self,
        state_dir: Path,
        cgroups: Cgroups,
        *,
        script_timeout: float = 30.0,
        search_path: str = SAFE_PATH,
        on_state: Callable[[str, str, str, str | None], None] | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.cache = self.state_dir / "cache"
        self.templates = self.state_dir / "templates"
        self.instances = self.state_dir / "nf"
        for d in (self.cache, self.templates, self.instances):
            d.mkdir(parents=True, exist_ok=True)
        self.cgroups = cgroups
        self.script_timeout = script_timeout
        self.search_path = search_path
        # Told of every state change: (graph, nf, started|stopped|failed|paused|resumed, why).
        self.on_state = on_state or (lambda graph, nf, state, reason: None)

    # ---- paths and state --------------------------------------------------------------

    def workdir(self, key: str) -> Path:
        return self.instances / key

    def _state_file(self, key: str) -> Path:
        return self.instances / f"{key}.json"

    def state_version(self, key: str) -> FileVersion | None:
        """Changes whenever the state file of `key` is written; None if there is none."""
        return file_version(self._state_file(key))

    def load_state(self, key: str) -> NFState | None:
        """The persisted state of instance `key`; None if there is none or it is unreadable.

        An unreadable file (garbage, a torn write from before writes were atomic) is moved
        aside as `<key>.json.damaged`, so the instance counts as failed and is redeployed (or
        removed as an orphan) by its namespace and cgroup, which carry the same key.
        """
        path = self._state_file(key)
        text = read_or_empty(path)
        if not text:
            return None
        try:
            state = NFState(**json.loads(text))
            if not isinstance(state.key, str) or state.key != key:
                raise ValueError(f"it describes instance {state.key!r}")
        except (ValueError, TypeError) as exc:
            damaged = path.with_name(path.name + ".damaged")
            log.error("NF state file %s is unreadable (%s); moved to %s", path, exc, damaged)
            path.replace(damaged)
            return None
        return state

    def save_state(self, state: NFState, *, durable: bool = True) -> None:
        # Not durable on the start path: after a crash the reconciler rebuilds an NF from
        # running and its template, so a lost or stale state file costs a restart, not data.
        atomic_write(
            self._state_file(state.key), json.dumps(asdict(state), indent=1), durable=durable
        )

    def deployed_template(self, key: str) -> Template | None:
        state = self.load_state(key)
        if state is None or not state.descriptor:
            return None
        return template_from_dict(state.descriptor)

    def known_instances(self) -> list[str]:
        return sorted(p.stem for p in self.instances.glob("*.json"))

    def template_dir(self, inst: NFInstance) -> Path:
        return self.templates / inst.template.sha256

    def cgroup_name(self, key: str) -> str:
        return key

    # ---- lifecycle ----------------------------------------------------------------------

    def create(self, inst: NFInstance) -> None:
        # Loaded here: tarfile and gzip are only needed once a template is used.
        from .archive import ArchiveError, extract, fetch

        tpl = inst.template
        try:
            if not self.template_dir(inst).exists():
                archive = fetch(tpl.uri, self.cache, tpl.sha256)
                extract(archive, self.template_dir(inst))
        except ArchiveError as exc:
            raise ComputeError(f"NF {inst.nf}: template {tpl.name}: {exc}") from None
        for event in ("start", "stop"):
            script = tpl.script(event)
            if not script or not (self.template_dir(inst) / script).is_file():
                raise ComputeError(
                    f"NF {inst.nf}: template {tpl.name} has no {event} script "
                    f"'{script}' in its archive"
                )
        state = NFState(
            inst.key,
            inst.graph,
            inst.nf,
            tpl.name,
            tpl.sha256,
            inst.netns,
            self.cgroup_name(inst.key),
            str(self.workdir(inst.key)),
            graphs=list(inst.graphs),
            descriptor=template_to_dict(tpl),
        )
        # First, so that a crash from here on leaves a trace to clean (the namespace and
        # cgroup carry the instance's name too, so the reconciler finds them without it).
        self.save_state(state, durable=False)
        try:
            create_netns(inst.netns)
            self.workdir(inst.key).mkdir(parents=True, exist_ok=True)
            self.cgroups.create(
                state.cgroup,
                Limits(
                    memory_limit=tpl.memory_limit,
                    cpu_weight=tpl.cpu_weight,
                    pids_limit=tpl.pids_limit,
                ),
            )
        except (LinkError, CgroupError, OSError) as exc:
            self._release(state)
            raise ComputeError(f"NF {inst.nf}: {exc}") from None

    def start(self, inst: NFInstance) -> None:
        state = self._state(inst)
        try:
            self._run(inst, "start")
            self._verify_ports(inst)
        except ScriptError as exc:
            state.state, state.last_error = "failed", str(exc)
            self.save_state(state)
            self._quiet_stop(inst)
            self.on_state(inst.graph, inst.nf, "failed", str(exc))
            raise ComputeError(str(exc), app_tag=exc.app_tag) from None
        state.state = "running"
        state.last_error = None
        state.params = inst.param_dict
        state.start_time = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.save_state(state, durable=False)
        self.on_state(inst.graph, inst.nf, "started", None)

    def stop(self, inst: NFInstance) -> None:
        # An instance whose state file was lost is still stopped: by its template's script and
        # its cgroup, both known from `inst`.
        state = self.load_state(inst.key) or self._fresh_state(inst)
        error = None
        try:
            if self.cgroups.is_frozen(state.cgroup):
                self.cgroups.thaw(state.cgroup)  # a frozen stop script would hang
        except CgroupError as exc:
            raise ComputeError(f"NF {inst.nf}: {exc}") from None
        try:
            self._run(inst, "stop")
        except ScriptError as exc:
            error = str(exc)
            log.warning("%s; killing what is left", exc)
        try:
            self.cgroups.kill_all(state.cgroup)
        except CgroupError as exc:
            raise ComputeError(f"NF {inst.nf}: {exc}") from None
        state.state, state.last_error = "stopped", error
        self.save_state(state)
        self.on_state(inst.graph, inst.nf, "stopped", error)

    def update(self, inst: NFInstance, extra_env: dict[str, str] | None = None) -> None:
        state = self._state(inst)
        try:
            self._run(inst, "update", extra_env)
        except ScriptError as exc:
            state.last_error = str(exc)
            self.save_state(state)
            self.on_state(inst.graph, inst.nf, "failed", str(exc))
            raise ComputeError(str(exc), app_tag=exc.app_tag) from None
        state.graphs = list(inst.graphs)
        state.params = inst.param_dict
        self.save_state(state)

    def pause(self, inst: NFInstance) -> None:
        state = self._state(inst)
        try:
            if inst.template.script("pause"):
                self._run(inst, "pause")
            self.cgroups.freeze(state.cgroup)
        except (ScriptError, CgroupError) as exc:
            raise ComputeError(f"NF {inst.nf}: cannot pause: {exc}") from None
        state.state = "paused"
        self.save_state(state)
        self.on_state(inst.graph, inst.nf, "paused", None)

    def resume(self, inst: NFInstance) -> None:
        state = self._state(inst)
        try:
            self.cgroups.thaw(state.cgroup)
        except CgroupError as exc:
            raise ComputeError(f"NF {inst.nf}: cannot resume: {exc}") from None
        state.state = "running"
        self.save_state(state)
        self.on_state(inst.graph, inst.nf, "resumed", None)

    def delete(self, inst: NFInstance) -> None:
        self._release(self.load_state(inst.key) or self._fresh_state(inst))

    def _fresh_state(self, inst: NFInstance) -> NFState:
        return NFState(
            inst.key,
            inst.graph,
            inst.nf,
            inst.template.name,
            inst.template.sha256,
            inst.netns,
            self.cgroup_name(inst.key),
            str(self.workdir(inst.key)),
        )

    def delete_key(self, key: str) -> None:
        """Remove an instance known only by its persisted state (orphan clean-up)."""
        state = self.load_state(key)
        if state is not None:
            self._release(state)

    # ---- status ---------------------------------------------------------------------------

    def healthy(self, inst: NFInstance) -> bool:
        """Running as recorded, with the same parameters, and its status script agrees."""
        state = self.load_state(inst.key)
        if state is None or state.state not in ("running", "paused"):
            return False
        if state.params != inst.param_dict or sorted(state.graphs) != sorted(inst.graphs):
            return False
        if not Path(f"/run/netns/{inst.netns}").exists():
            return False
        if inst.template.script("status") and state.state == "running":
            try:
                self._run(inst, "status")
            except ScriptError:
                return False
        return True

    def status_error(self, inst: NFInstance) -> str | None:
        """Run the template's status script, if it has one: None when it succeeds, else why."""
        if not inst.template.script("status"):
            return None
        try:
            self._run(inst, "status", log_success=False)
        except ScriptError as exc:
            return str(exc)
        return None

    def mark_failed(self, key: str, reason: str) -> None:
        """Record that instance `key` failed at run time (the supervisor found it so)."""
        state = self.load_state(key)
        if state is None:
            return
        state.state, state.last_error = "failed", reason
        self.save_state(state)

    def pids(self, key: str) -> list[int]:
        return self.cgroups.pids(self.cgroup_name(key))

    # ---- internals --------------------------------------------------------------------

    def _state(self, inst: NFInstance) -> NFState:
        state = self.load_state(inst.key)
        if state is None:
            raise ComputeError(f"NF {inst.nf}: instance {inst.key} does not exist")
        return state

    def _run(
        self,
        inst: NFInstance,
        event: str,
        extra_env: dict[str, str] | None = None,
        *,
        log_success: bool = True,
    ) -> None:
        script = inst.template.script(event)
        if not script:
            return
        run_script(
            inst=inst,
            event=event,
            script=self.template_dir(inst) / script,
            template_dir=self.template_dir(inst),
            workdir=self.workdir(inst.key),
            cgroup_joins=self._join_files(inst),
            extra_env={"PATH": self.search_path, **(extra_env or {})},
            timeout=self.script_timeout,
            log_success=log_success,
        )

    def _join_files(self, inst: NFInstance) -> list[Path]:
        return self.cgroups.join_files(self.cgroup_name(inst.key), inst.template.cpu_weight)

    @staticmethod
    def _verify_ports(inst: NFInstance) -> None:
        """After start: every port is still there and up (a cheap check, no script run).

        The status script, when the template has one, is the deeper health check run by the
        monitor and at start-up reconciliation.
        """
        try:
            present = port_states(inst.netns, [p.ifname for p in inst.ports])
        except LinkError as exc:
            raise ScriptError(f"NF {inst.nf}: cannot inspect its namespace: {exc}") from None
        for port in inst.ports:
            if present.get(port.ifname) is not True:
                what = "is missing" if port.ifname not in present else "is down"
                raise ScriptError(
                    f"NF {inst.nf}: after start, port {port.name} ({port.ifname}) {what}"
                )

    def _quiet_stop(self, inst: NFInstance) -> None:
        try:
            self._run(inst, "stop")
        except ScriptError as exc:
            log.info("stop after failed start: %s", exc)
        try:
            self.cgroups.kill_all(self.cgroup_name(inst.key))
        except CgroupError as exc:
            log.error("NF %s: %s", inst.nf, exc)

    def _release(self, state: NFState) -> None:
        errors = []
        try:
            self.cgroups.delete(state.cgroup)
        except CgroupError as exc:
            errors.append(str(exc))
        try:
            delete_netns(state.netns)
        except LinkError as exc:
            errors.append(str(exc))
        shutil.rmtree(state.workdir, ignore_errors=True)
        if errors:
            state.state, state.last_error = "failed", "; ".join(errors)
            self.save_state(state)
            raise ComputeError(f"NF {state.nf}: cannot release: {'; '.join(errors)}")
        self._state_file(state.key).unlink(missing_ok=True)
