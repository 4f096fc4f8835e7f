"""Start a throwaway nnfv-agent on loopback, for the demo and the benchmarks."""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
from pathlib import Path

sys.modules.setdefault("invoke", None)
from agent_launcher import (  # noqa: E402
    PASSWORD,
    STOP_TIMEOUT,
    USER,
    AgentProcess,
    agent_config,
    write_config,
)

__all__ = ["PASSWORD", "USER", "LocalAgent"]


class LocalAgent(AgentProcess):
    """An agent in a temporary directory, removed at `stop()` unless `keep`."""

    def __init__(self, *, keep: bool = False, dataplane: str = "none") -> None:
        """dataplane "none" keeps configuration only: nothing is deployed on this host."""
        self.dir = Path(tempfile.mkdtemp(prefix="nnfv-agent-"))
        self.keep = keep
        config = write_config(
            self.dir / "agent.toml", agent_config(self.dir / "state", dataplane=dataplane)
        )
        super().__init__(config, self.dir / "agent.log", self.dir / "port")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int | None:
        try:
            return super().stop(sig, timeout)
        finally:
            if not self.keep:
                shutil.rmtree(self.dir, ignore_errors=True)
