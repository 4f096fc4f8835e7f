"""Start a throwaway nnfv-agent on loopback, for the demo and the benchmarks."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.modules.setdefault("invoke", None)
from nnfv_agent.config import hash_password  # noqa: E402

USER = "admin"
PASSWORD = "nnfv-demo"


class LocalAgent:
    def __init__(self, *, keep: bool = False, dataplane: str = "none") -> None:
        """dataplane "none" keeps configuration only: nothing is deployed on this host."""
        self.dir = Path(tempfile.mkdtemp(prefix="nnfv-agent-"))
        self.keep = keep
        self.config = self.dir / "agent.toml"
        self.config.write_text(
            f'state_dir = "{self.dir / "state"}"\n'
            f'dataplane = "{dataplane}"\n'
            f'[[users]]\nname = "{USER}"\n'
            f'password_hash = "{hash_password(PASSWORD)}"\n'
        )
        self.log = self.dir / "agent.log"
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def start(self) -> LocalAgent:
        port_file = self.dir / "port"
        agent_bin = Path(sys.executable).parent / "nnfv-agent"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(agent_bin),
                    "--config",
                    str(self.config),
                    "--listen",
                    "127.0.0.1:0",
                    "--port-file",
                    str(port_file),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"agent failed to start:\n{self.log.read_text()}")
            time.sleep(0.02)
        self.port = int(port_file.read_text())
        return self

    def rss_kib(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> LocalAgent:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
