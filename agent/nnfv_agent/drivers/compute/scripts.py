"""Run a lifecycle script inside an NF's namespace and cgroup, under the documented contract."""

from __future__ import annotations

import os
import re
import select
import shlex
import signal
import subprocess
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from ...errors import AgentError
from .instance import NFInstance

DEFAULT_TIMEOUT = 30.0
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ScriptError(AgentError):
    app_tag = "nf-script-failed"


def env_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def script_env(
    inst: NFInstance,
    event: str,
    template_dir: Path,
    workdir: Path,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    env = {
        "PATH": SAFE_PATH,
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "NNFV_EVENT": event,
        "NNFV_GRAPH": inst.graph,
        "NNFV_NF": inst.nf,
        "NNFV_INSTANCE": inst.key,
        "NNFV_PORTS": " ".join(p.name for p in inst.ports),
        "NNFV_IFACES": " ".join(p.ifname for p in inst.ports),
        "NNFV_PARAMS": " ".join(name for name, _ in inst.params),
        "NNFV_TEMPLATE_DIR": str(template_dir),
        "NNFV_WORKDIR": str(workdir),
    }
    for port in inst.ports:
        env[f"NNFV_PORT_{env_name(port.name)}"] = port.ifname
    for name, value in inst.params:
        env[f"NNFV_PARAM_{env_name(name)}"] = value
    if inst.template.sharable:
        env["NNFV_GRAPHS"] = " ".join(inst.graphs)
    env.update(extra or {})
    return env


def log_tail(log: Path, lines: int = 8) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    start = max((i for i, line in enumerate(text) if line.startswith("=== ")), default=0)
    return " | ".join(line.strip() for line in text[start + 1 :][-lines:] if line.strip())


def run_script(
    *,
    inst: NFInstance,
    event: str,
    script: Path,
    template_dir: Path,
    workdir: Path,
    cgroup_joins: Sequence[Path],
    extra_env: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    log_success: bool = True,
) -> None:
    """Run `script` and raise ScriptError naming the NF, the event and the cause on failure.

    `log_success=False` (the periodic status check) keeps what the script prints in memory
    and appends it to the NF's log only if the script fails: a CPE's flash should not take a
    write every few seconds per NF, and those writes also slowed every commit's fsync."""
    log = workdir / "nf.log"
    env = script_env(inst, event, template_dir, workdir, extra_env)
    # The wrapper joins the cgroup (writing 0, itself, to each of `cgroup_joins`) before
    # exec'ing `ip netns exec`, so the script and every process it forks are accounted from
    # the first instruction (and no preexec_fn runs in a threaded server). `ip netns exec`
    # rather than nsenter: it also remounts /sys, so that /sys/class/net shows the NF's own
    # interfaces to the script.
    joins = "; ".join(f"echo 0 > {shlex.quote(str(p))}" for p in cgroup_joins)
    interpreter = [] if os.access(script, os.X_OK) else ["/bin/sh"]
    wrapper = f'{joins + "; " if joins else ""}exec ip netns exec "$0" "$@"'
    argv = [
        "/bin/sh",
        "-c",
        wrapper,
        inst.netns,
        *interpreter,
        str(script),
        *(p.ifname for p in inst.ports),
    ]
    header = (
        f"=== {datetime.now(UTC).isoformat(timespec='milliseconds')} {event} "
        f"graph={inst.graph} nf={inst.nf}\n"
    )
    if not log_success:
        _run_quietly(argv, workdir, env, timeout, log, header, f"{event} script of NF {inst.nf}")
        return
    with open(log, "a", encoding="utf-8") as out:
        out.write(header)
        out.flush()
        proc = subprocess.Popen(
            argv,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = wait_exit(proc, timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            out.write(f"=== killed after {timeout:.0f} s\n")
            raise ScriptError(
                f"{event} script of NF {inst.nf} timed out after {timeout:.0f} s"
            ) from None
    if code != 0:
        tail = log_tail(log)
        raise ScriptError(
            f"{event} script of NF {inst.nf} exited with {code}" + (f": {tail}" if tail else "")
        )


KEPT_OUTPUT = 8192  # bytes of a quiet script's output kept for the log if it fails


def _run_quietly(
    argv: list[str],
    workdir: Path,
    env: dict[str, str],
    timeout: float,
    log: Path,
    header: str,
    what: str,
) -> None:
    proc = subprocess.Popen(
        argv,
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    try:
        code, output = _collect(proc, proc.stdout.fileno(), timeout)
    except subprocess.TimeoutExpired as exc:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _append(log, header, exc.output or b"", f"=== killed after {timeout:.0f} s\n")
        raise ScriptError(f"{what} timed out after {timeout:.0f} s") from None
    finally:
        proc.stdout.close()
    if code != 0:
        _append(log, header, output)
        tail = log_tail(log)
        raise ScriptError(f"{what} exited with {code}" + (f": {tail}" if tail else ""))


def _collect(proc: subprocess.Popen, fd: int, timeout: float) -> tuple[int, bytes]:
    """Wait for `proc` to exit (by pidfd, not by the end of its output: a daemon it started
    may keep the pipe open), keeping the last KEPT_OUTPUT bytes it printed."""
    kept = bytearray()

    def keep(chunk: bytes) -> None:
        kept.extend(chunk)
        del kept[:-KEPT_OUTPUT]

    os.set_blocking(fd, False)
    pidfd = os.pidfd_open(proc.pid)
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        poller.register(fd, select.POLLIN)
        deadline = time.monotonic() + timeout
        exited = False
        while not exited:
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(proc.args, timeout, output=bytes(kept))
            for ready, _ in poller.poll(left * 1000):
                if ready == pidfd:
                    exited = True
                else:
                    chunk = _read(fd)
                    if chunk:
                        keep(chunk)
                    elif chunk is not None:
                        poller.unregister(fd)  # end of output; the exit is still to come
        for _ in range(16):  # what is left; bounded: a child may go on writing for ever
            chunk = _read(fd)
            if not chunk:
                break
            keep(chunk)
    finally:
        os.close(pidfd)
    return proc.wait(), bytes(kept)


def _read(fd: int) -> bytes | None:
    """What the pipe holds now; b"" at its end, None if nothing is there yet."""
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return None


def _append(log: Path, header: str, output: bytes, trailer: str = "") -> None:
    text = output.decode("utf-8", errors="replace")
    with open(log, "a", encoding="utf-8") as out:
        out.write(header + text + ("" if not text or text.endswith("\n") else "\n") + trailer)


def wait_exit(proc: subprocess.Popen, timeout: float) -> int:
    """Popen.wait(timeout) polls with sleeps of up to 50 ms; a pidfd wakes us at the exit."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        return proc.wait(timeout=timeout)
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        if not poller.poll(timeout * 1000):
            raise subprocess.TimeoutExpired(proc.args, timeout)
    finally:
        os.close(pidfd)
    return proc.wait()
