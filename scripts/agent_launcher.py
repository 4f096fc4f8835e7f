"""The one way tests, scripts and benchmarks write an agent.toml and run an nnfv-agent process.

    config = agent_config(state_dir, dataplane="none", max_sessions=8)
    write_config(tmp / "agent.toml", config)
    agent = AgentProcess(tmp / "agent.toml", tmp / "agent.log", tmp / "port")
    agent.start()            # returns once the agent listens (READY_TIMEOUT at most)
    ...                      # connect to 127.0.0.1:agent.port as USER / PASSWORD
    agent.stop()

The TOML is written by a serializer (`toml_text`), never by string formatting, so a path or a
key with a quote or a backslash in it stays what it was. Every throwaway agent accepts the one
test user and password below; their hash uses few PBKDF2 rounds, so an agent starts fast.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

USER = "admin"
PASSWORD = "nnfv-test-password"
HASH_ITERATIONS = 1000
# Seconds from the start of the process to its port file (a loaded 2-core machine, 50 agents).
READY_TIMEOUT = 30.0
# Seconds from the stop signal to SIGKILL.
STOP_TIMEOUT = 10.0
AGENT_BIN = Path(sys.executable).parent / "nnfv-agent"

# ---- TOML ---------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_ESCAPES["\r"] = "\\r"


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(value: str) -> str:
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(value: object) -> str:
    """A TOML value: string (or path), boolean, integer, float, or an array of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str | Path):
        return _string(str(value))
    if isinstance(value, Sequence):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a TOML value: {value!r}")


def _is_table_array(value: object) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and bool(value)
        and all(isinstance(v, Mapping) for v in value)
    )


def _table(doc: Mapping[str, object], path: tuple[str, ...]) -> list[str]:
    lines = []
    nested: list[tuple[str, object]] = []
    for key, value in doc.items():
        if value is None:
            continue  # TOML has no null: an absent key means the agent's default
        if isinstance(value, Mapping) or _is_table_array(value):
            nested.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in nested:
        sub = (*path, _key(key))
        if isinstance(value, Mapping):
            lines += ["", f"[{'.'.join(sub)}]", *_table(value, sub)]
        else:
            assert isinstance(value, Sequence)
            for entry in value:
                lines += ["", f"[[{'.'.join(sub)}]]", *_table(entry, sub)]
    return lines


def toml_text(doc: Mapping[str, object]) -> str:
    """`doc` as TOML: scalars and arrays, then tables and arrays of tables (None: left out)."""
    return "\n".join(_table(doc, ())).lstrip("\n") + "\n"


# ---- agent.toml -----------------------------------------------------------------------------


def password_hash(password: str = PASSWORD) -> str:
    from nnfv_agent.config import hash_password  # the agent package, only when a config is made

    return hash_password(password, iterations=HASH_ITERATIONS)


def agent_config(
    state_dir: Path,
    *,
    dataplane: str = "none",
    user: str = USER,
    password: str | None = PASSWORD,
    authorized_keys: Iterable[str] = (),
    users: Sequence[Mapping[str, object]] = (),
    **settings: object,
) -> dict[str, object]:
    """An agent.toml as a dict: one user (`user` with `password` and `authorized_keys`) plus
    `users`; `settings` are further top-level keys (None: the agent's default)."""
    first: dict[str, object] = {"name": user}
    if password is not None:
        first["password_hash"] = password_hash(password)
    keys = list(authorized_keys)
    if keys:
        first["authorized_keys"] = keys
    return {
        "state_dir": state_dir,
        "dataplane": dataplane,
        **settings,
        "users": [first, *users],
    }


def write_config(path: Path, config: Mapping[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(toml_text(config))
    return path


# ---- the process ----------------------------------------------------------------------------


class AgentProcess:
    """An nnfv-agent on 127.0.0.1. `port` is learnt at the first start and kept by restarts."""

    def __init__(self, config: Path, log: Path, port_file: Path, port: int = 0) -> None:
        self.config = config
        self.log = log
        self.port_file = port_file
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(
        self,
        *extra: str,
        env: Mapping[str, str] | None = None,
        new_session: bool = False,
        timeout: float = READY_TIMEOUT,
    ) -> AgentProcess:
        """Start the agent and return once it listens (it writes its port file then)."""
        self.port_file.unlink(missing_ok=True)
        command = [str(AGENT_BIN), "--config", str(self.config)]
        command += ["--listen", f"127.0.0.1:{self.port}", "--port-file", str(self.port_file)]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [*command, *extra],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=new_session,
                env=None if env is None else {**os.environ, **env},
            )
        self.port = wait_for_port(self.proc, self.port_file, self.log, timeout)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int | None:
        """Signal the agent, wait for it (SIGKILL after `timeout`); its exit status."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None, "the agent is not running"
        return self.proc.pid

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def __enter__(self) -> AgentProcess:
        return self if self.alive else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for_port(
    proc: subprocess.Popen[bytes], port_file: Path, log: Path, timeout: float = READY_TIMEOUT
) -> int:
    """The port the agent wrote once listening; RuntimeError (with its log) if it exits first."""
    deadline = time.monotonic() + timeout
    while True:
        if port_file.exists() and (text := port_file.read_text().strip()):
            return int(text)
        if proc.poll() is not None:
            raise RuntimeError(f"agent exited with {proc.returncode}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"agent did not start within {timeout} s:\n{_tail(log)}")
        time.sleep(0.02)


def stop_pid(pid: int, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> None:
    """Stop an agent known only by its pid (started by another process); SIGKILL after timeout."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _running(pid):
            return
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def _running(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)  # reaps it if it is our child
        if done:
            return False
    except ChildProcessError:
        pass  # not our child: look at /proc
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _tail(log: Path, size: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-size:]
    except FileNotFoundError:
        return "(no log)"
