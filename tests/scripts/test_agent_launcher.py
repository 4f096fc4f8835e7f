"""scripts/agent_launcher.py: the TOML it writes reads back as written, and the agent accepts it."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from agent_launcher import (
    PASSWORD,
    USER,
    agent_config,
    stop_pid,
    toml_text,
    write_config,
)
from nnfv_agent.config import load, verify_password

AWKWARD = [
    "",
    'a "quoted" word',
    "back\\slash and C:\\path\\",
    "new\nline\ttab\rreturn\bback\fform",
    "\x00nul \x1f unit \x7f del",
    "ünïcödé ✓ and 🙂",
    "''' and \"\"\" and # not a comment",
]


@pytest.mark.parametrize("text", AWKWARD)
def test_strings_and_keys_read_back_exactly(text):
    doc = {"value": text, text: "as a key", "list": [text, text]}
    assert tomllib.loads(toml_text(doc)) == doc


def test_scalars_keep_their_types():
    doc = {"yes": True, "no": False, "n": -7, "big": 2**40, "x": 0.5, "tiny": 1e-300}
    back = tomllib.loads(toml_text(doc))
    assert back == doc
    assert type(back["yes"]) is bool and type(back["n"]) is int and type(back["x"]) is float


def test_infinities_and_nan_are_written_as_toml_special_floats():
    back = tomllib.loads(toml_text({"up": math.inf, "down": -math.inf, "nan": math.nan}))
    assert back["up"] == math.inf and back["down"] == -math.inf and math.isnan(back["nan"])


def test_tables_and_arrays_of_tables_come_after_the_scalars_whatever_the_dict_order():
    doc = {
        "users": [{"name": "a", "keys": ["k1"]}, {"name": "b"}],
        "state_dir": Path("/tmp/x y"),
        "sub table": {"depth": 1, "inner": {"leaf": "v"}},
        "absent": None,
    }
    back = tomllib.loads(toml_text(doc))
    assert back == {
        "users": [{"name": "a", "keys": ["k1"]}, {"name": "b"}],
        "state_dir": "/tmp/x y",
        "sub table": {"depth": 1, "inner": {"leaf": "v"}},
    }


def test_a_value_toml_cannot_hold_is_refused_rather_than_written_wrong():
    with pytest.raises(TypeError, match="complex"):
        toml_text({"z": 1j})


def test_agent_config_is_read_by_the_agent_with_the_test_user_and_settings(tmp_path):
    state = tmp_path / 'state "with" quotes\\'
    config = write_config(
        tmp_path / "agent.toml",
        agent_config(
            state,
            authorized_keys=["ssh-ed25519 AAAA test"],
            max_sessions=3,
            hello_timeout=1.5,
            netns=None,
            log_level="DEBUG",
        ),
    )
    loaded = load(config)
    assert loaded.state_dir == state
    assert loaded.dataplane == "none"
    assert loaded.max_sessions == 3
    assert loaded.hello_timeout == 1.5
    assert loaded.netns is None
    (user,) = loaded.users
    assert user.name == USER
    assert user.authorized_keys == ["ssh-ed25519 AAAA test"]
    assert user.password_hash is not None and verify_password(PASSWORD, user.password_hash)


def test_stop_pid_stops_a_process_that_is_not_our_child_and_ignores_a_gone_one():
    # A grandchild: the shell prints the pid of a sleep it started in the background.
    shell = subprocess.run(
        ["sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(shell.stdout)
    stop_pid(pid, signal.SIGTERM)
    assert not Path(f"/proc/{pid}").exists() or _zombie(pid)
    stop_pid(pid)  # already gone: nothing to do, no error


def test_stop_pid_kills_a_child_that_ignores_the_signal_after_the_timeout():
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(15, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    stop_pid(child.pid, signal.SIGTERM, timeout=0.2)
    assert child.wait(timeout=10) == -signal.SIGKILL
    child.stdout.close()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return False
