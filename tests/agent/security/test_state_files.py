"""State files can hold secrets (pre-shared keys are configuration): private, whoever made them."""

from __future__ import annotations

import stat
from pathlib import Path

from support.agentproc import example_config
from support.clients import RawClient
from support.replies import assert_ok


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_directory_and_files_are_private_even_when_made_world_readable(agent):
    raw = RawClient(agent)
    try:
        assert_ok(
            raw.rpc(
                "<edit-config><target><running/></target>"
                f"{example_config('graph-firewall-nat.xml')}</edit-config>"
            )
        )
        assert_ok(
            raw.rpc(
                "<copy-config><target><startup/></target><source><running/></source></copy-config>"
            )
        )
    finally:
        raw.close()
    state = agent.state_dir
    files = [p for p in state.iterdir() if p.is_file()]
    assert {"running.xml", "startup.xml"} <= {p.name for p in files}
    assert _mode(state) == 0o700
    for path in files:
        assert _mode(path) == 0o600, path
    # An installer (or an older agent) left them readable: the next start closes them again.
    agent.stop()
    state.chmod(0o755)
    for path in files:
        path.chmod(0o644)
    agent.start()
    assert _mode(state) == 0o700
    for path in files:
        assert _mode(path) == 0o600, path


def test_files_written_later_are_private_whatever_the_umask(agent):
    raw = RawClient(agent)
    try:
        assert_ok(
            raw.rpc(
                "<edit-config><target><running/></target>"
                f"{example_config('template-firewall.xml')}</edit-config>"
            )
        )
    finally:
        raw.close()
    assert _mode(agent.state_dir / "running.xml") == 0o600
