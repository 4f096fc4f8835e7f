"""The `nnfv-agent` command line: help, version, overrides, config errors, --hash-password."""

from __future__ import annotations

import socket
import subprocess
import sys

import paramiko
import pytest

from agent_launcher import AgentProcess, agent_config, toml_text
from agent_launcher import write_config as write_toml
from nnfv_agent.config import verify_password
from support.agentproc import AGENT_BIN, PASSWORD, USER, write_config


def run(*args: str, stdin: str | None = None, timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(AGENT_BIN), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_readable_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("nnfv-agent: ")
    for fragment in fragments:
        assert fragment in result.stderr


# What makes `--help` and `--version` slow is loading the server; they must not.
HEAVY_MODULES = ("nnfv_agent.server", "paramiko", "libyang", "pyroute2")


def modules_loaded_by(*args: str) -> list[str]:
    """The heavy modules `nnfv-agent ARGS` imports, checked in a fresh interpreter."""
    code = (
        "import sys\n"
        "from nnfv_agent import cli\n"
        "try:\n"
        f"    cli.main({list(args)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('loaded:' + ','.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = out.stdout.strip().splitlines()[-1].removeprefix("loaded:")
    return [m for m in loaded.split(",") if m]


def test_help_exits_zero_without_loading_the_server_and_documents_the_options():
    result = run("--help")
    assert result.returncode == 0, result.stderr
    assert modules_loaded_by("--help") == []
    for option in ("--config", "--listen", "--state-dir", "--port-file", "--hash-password"):
        assert option in result.stdout


def test_version_prints_the_package_version_without_loading_the_server():
    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert modules_loaded_by("--version") == []
    assert result.stdout.strip() == "nnfv-agent 0.1.0"


def test_listen_and_state_dir_options_override_the_config_file(tmp_path):
    configured_state = tmp_path / "configured-state"
    override_state = tmp_path / "override-state"
    # The configured address is taken by us, so the agent can only start if --listen wins.
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    taken = blocker.getsockname()[1]
    config = write_toml(
        tmp_path / "agent.toml", agent_config(configured_state, listen=f"127.0.0.1:{taken}")
    )
    # The launcher passes --listen 127.0.0.1:0.
    agent = AgentProcess(config, tmp_path / "agent.log", tmp_path / "port")
    try:
        agent.start("--state-dir", str(override_state))
        assert agent.port != taken
        transport = paramiko.Transport(("127.0.0.1", agent.port))
        try:
            transport.connect(username=USER, password=PASSWORD)
            assert transport.is_authenticated()
        finally:
            transport.close()
        assert (override_state / "ssh_host_ecdsa_key").exists()
        assert not configured_state.exists()
    finally:
        returncode = agent.stop()
        blocker.close()
    assert returncode == 0, "SIGTERM should stop the agent cleanly"


def test_unknown_setting_in_the_config_file_exits_2_with_a_readable_message(tmp_path):
    config = tmp_path / "agent.toml"
    write_toml(config, agent_config(tmp_path, bogus_setting=1))
    assert_readable_error(run("--config", str(config)), "unknown settings", "bogus_setting")


def test_config_without_users_exits_2_with_a_readable_message(tmp_path):
    config = tmp_path / "agent.toml"
    config.write_text(toml_text({"state_dir": tmp_path}))
    assert_readable_error(run("--config", str(config)), "no users")


def test_no_config_file_at_all_means_no_users_and_exits_2(tmp_path):
    assert_readable_error(run("--state-dir", str(tmp_path)), "no users")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("this is = = not toml", "cannot read"),
        ("max_sessions = 0\n", "max_sessions"),
        ('max_message_size = "big"\n', "max_message_size"),
        ('listen = "nowhere"\n', "nowhere"),
        ('[[users]]\npassword_hash = "x"\n', "name"),
    ],
    ids=["bad-toml", "zero-sessions", "string-size", "bad-listen", "user-without-name"],
)
def test_invalid_config_file_exits_2_with_a_readable_message(tmp_path, content, fragment):
    config = tmp_path / "agent.toml"
    config.write_text(content)
    assert_readable_error(run("--config", str(config)), fragment)


def test_missing_config_file_exits_2(tmp_path):
    missing = tmp_path / "absent.toml"
    assert_readable_error(run("--config", str(missing)), str(missing))


def test_bad_listen_option_exits_2(tmp_path):
    config = tmp_path / "agent.toml"
    write_config(config, tmp_path / "state")
    assert_readable_error(run("--config", str(config), "--listen", "no-port"), "no-port")


def test_hash_password_reads_stdin_and_prints_a_verifiable_pbkdf2_hash():
    result = run("--hash-password", stdin="s3cret pass\n")
    assert result.returncode == 0, result.stderr
    hashed = result.stdout.strip()
    assert hashed.startswith("pbkdf2-sha256$")
    assert len(hashed.split("$")) == 4
    assert verify_password("s3cret pass", hashed)
    assert not verify_password("s3cret pass\n", hashed)
    assert not verify_password("wrong", hashed)
    # A fresh salt each time.
    again = run("--hash-password", stdin="s3cret pass\n").stdout.strip()
    assert again != hashed
    assert verify_password("s3cret pass", again)


def test_hashed_password_from_the_cli_logs_in(tmp_path):
    hashed = run("--hash-password", stdin="from-the-cli\n").stdout.strip()
    users = [{"name": "ops", "password_hash": hashed}]
    config = write_toml(
        tmp_path / "agent.toml",
        {"state_dir": tmp_path / "state", "dataplane": "none", "users": users},
    )
    with AgentProcess(config, tmp_path / "agent.log", tmp_path / "port") as agent:
        transport = paramiko.Transport(("127.0.0.1", agent.port))
        try:
            transport.connect(username="ops", password="from-the-cli")
            assert transport.is_authenticated()
        finally:
            transport.close()
