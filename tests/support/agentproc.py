"""A real nnfv-agent process on 127.0.0.1 with its own state directory."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
YANG = ROOT / "yang"
EXAMPLES = YANG / "examples"
AGENT_BIN = Path(sys.executable).parent / "nnfv-agent"
USER, PASSWORD = "admin", "nnfv-test-password"


@dataclass
class AgentProcess:
    """A running agent; `restart()` keeps its state directory."""

    state_dir: Path
    config: Path
    log: Path
    port: int = 0
    proc: subprocess.Popen | None = None

    def start(self, *extra: str) -> None:
        port_file = self.state_dir.parent / "port"
        port_file.unlink(missing_ok=True)
        listen = f"127.0.0.1:{self.port}"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(AGENT_BIN),
                    "--config",
                    str(self.config),
                    "--listen",
                    listen,
                    "--port-file",
                    str(port_file),
                    *extra,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if port_file.exists() and port_file.read_text().strip():
                self.port = int(port_file.read_text())
                return
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"agent exited with {self.proc.returncode}:\n{self.log.read_text()}"
                )
            time.sleep(0.02)
        raise RuntimeError("agent did not start in time")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def write_config(
    path: Path,
    state_dir: Path,
    *,
    max_sessions: int | None = 8,
    max_message_size: int = 1024 * 1024,
    pubkey: str | None = None,
    dataplane: str = "none",
    netns: str | None = None,
    node_id: str | None = None,
    users: dict[str, dict[str, object]] | None = None,
    **settings: int | float,
) -> None:
    """NETCONF-core tests run config-only (dataplane "none"); data-plane tests pass "native".

    `max_sessions=None` keeps the agent's default; `settings` are further numeric limits
    (for example `hello_timeout=1`). `users`: more users, all with PASSWORD, name -> further
    settings of the user (for example {"groups": ["monitor"]} or {"recovery": True}).
    """
    from nnfv_agent.config import hash_password

    keys = f'authorized_keys = ["{pubkey}"]\n' if pubkey else ""
    extra = f'netns = "{netns}"\n' if netns else ""
    extra += f'node_id = "{node_id}"\n' if node_id else ""
    extra += f"max_sessions = {max_sessions}\n" if max_sessions is not None else ""
    extra += "".join(f"{key} = {value}\n" for key, value in settings.items())
    path.write_text(
        f'state_dir = "{state_dir}"\n'
        f"max_message_size = {max_message_size}\n"
        f'dataplane = "{dataplane}"\n'
        f"{extra}"
        'log_level = "DEBUG"\n'
        "[[users]]\n"
        f'name = "{USER}"\n'
        f'password_hash = "{hash_password(PASSWORD, iterations=1000)}"\n'
        f"{keys}" + "".join(_user_block(name, extra) for name, extra in (users or {}).items())
    )


def _user_block(name: str, settings: dict[str, object]) -> str:
    import json

    from nnfv_agent.config import hash_password

    lines = [
        "[[users]]",
        f'name = "{name}"',
        f'password_hash = "{hash_password(PASSWORD, iterations=1000)}"',
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def example_config(name: str) -> str:
    """An example instance document wrapped in an edit-config <config>."""
    text = (EXAMPLES / name).read_text()
    body = text[text.index("<", text.index("?>") + 2 if "?>" in text else 0) :]
    return f'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">{body}</config>'
