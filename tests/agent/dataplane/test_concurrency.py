"""Readers never wait for a commit, and a second writer gets a clear answer."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from graphs import graphs_config
from nnfv_agent.netconf.client import NetconfError

from .conftest import template_xml
from .test_lifecycle import daemon_graph, data_of, extra_interfaces

# Starts, then sleeps until the test lets it go on (or 20 s pass): a slow start script.
SLOW = {
    "start": 'sleep 3600 &\ni=0; while [ ! -e "$NNFV_WORKDIR/../../go" ] && [ $i -lt 200 ]; '
    "do sleep 0.1; i=$((i+1)); done",
    "stop": "true",
}


def _install_slow(cpe, tmp_path) -> None:
    cpe.commit(template_xml(tmp_path, "slow", SLOW))
    extra_interfaces(cpe, "lan9", "wan9")


def _slow_commit_in_progress(cpe):
    """Start committing a graph whose NF start blocks; return the thread and its errors."""
    errors: list[BaseException] = []

    def commit() -> None:
        try:
            cpe.push(
                daemon_graph("slowg", ("s", "slow", {}))
                .replace("lan0", "lan9")
                .replace("wan0", "wan9")
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    worker = threading.Thread(target=commit)
    before = len(cpe.snapshot().namespaces)
    worker.start()
    deadline = time.monotonic() + 20
    while len(cpe.snapshot().namespaces) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    return worker, errors


def _release(cpe) -> None:
    (Path(cpe.dir) / "state" / "go").touch()


def test_get_config_during_a_slow_commit_returns_the_old_running(cpe, tmp_path):
    cpe.push(daemon_graph("base"))
    _install_slow(cpe, tmp_path)
    with cpe.client() as c:
        old = data_of(c.get_config("running"))
    worker, errors = _slow_commit_in_progress(cpe)
    try:
        with cpe.client() as reader:
            replies = [data_of(reader.get_config("running")) for _ in range(20)]
            state = reader.rpc("<get/>")
        assert worker.is_alive(), "the commit finished before the reads: nothing was proven"
    finally:
        _release(cpe)
        worker.join(30)
    assert not errors, errors
    assert all(r == old for r in replies), "a read during the commit saw a half-done running"
    assert "slowg" not in state
    with cpe.client() as c:
        assert "slowg" in c.get_config("running")


def test_second_commit_during_a_slow_one_gets_in_use_after_its_wait(cpe, tmp_path):
    cpe.stop_agent()
    cpe.write_config(script_timeout="30", commit_wait="0.5")
    cpe.start_agent()
    _install_slow(cpe, tmp_path)
    worker, errors = _slow_commit_in_progress(cpe)
    try:
        with cpe.client() as other:
            try:
                other.edit_config(graphs_config(daemon_graph("other")), target="running")
            except NetconfError as exc:
                refused = str(exc)
            else:
                refused = ""
        assert worker.is_alive()
    finally:
        _release(cpe)
        worker.join(30)
    assert not errors, errors
    assert refused.startswith("in-use: another commit is in progress")
