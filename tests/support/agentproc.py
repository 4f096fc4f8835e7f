"""A real nnfv-agent process on 127.0.0.1 with its own state directory."""

from __future__ import annotations

from pathlib import Path

from agent_launcher import AGENT_BIN, PASSWORD, USER, agent_config, password_hash
from agent_launcher import AgentProcess as _Launched
from agent_launcher import write_config as _write_toml

__all__ = ["AGENT_BIN", "EXAMPLES", "PASSWORD", "ROOT", "USER", "YANG", "AgentProcess"]

ROOT = Path(__file__).resolve().parents[2]
YANG = ROOT / "yang"
EXAMPLES = YANG / "examples"


class AgentProcess(_Launched):
    """A running agent with its state directory; `restart()` keeps both and the port."""

    def __init__(self, state_dir: Path, config: Path, log: Path) -> None:
        super().__init__(config, log, state_dir.parent / "port")
        self.state_dir = state_dir


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
    config = agent_config(
        state_dir,
        dataplane=dataplane,
        authorized_keys=[pubkey] if pubkey else [],
        max_message_size=max_message_size,
        max_sessions=max_sessions,
        netns=netns,
        node_id=node_id,
        log_level="DEBUG",
        users=[
            {"name": name, "password_hash": password_hash(), **extra}
            for name, extra in (users or {}).items()
        ],
        **settings,
    )
    _write_toml(path, config)


def example_config(name: str) -> str:
    """An example instance document wrapped in an edit-config <config>."""
    text = (EXAMPLES / name).read_text()
    body = text[text.index("<", text.index("?>") + 2 if "?>" in text else 0) :]
    return f'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">{body}</config>'
