"""How lifecycle scripts are waited for and what of their output is kept (no namespace needed)."""

from __future__ import annotations

import subprocess

import pytest

from nnfv_agent.drivers.compute.scripts import KEPT_OUTPUT, _collect


def start(script: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["/bin/sh", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def collect(proc: subprocess.Popen, timeout: float = 30) -> tuple[int, bytes]:
    assert proc.stdout is not None
    try:
        return _collect(proc, proc.stdout.fileno(), timeout)
    finally:
        proc.stdout.close()


def test_collect_returns_the_exit_code_and_all_of_a_short_output():
    assert collect(start("echo one; echo two >&2; exit 3")) == (3, b"one\ntwo\n")


def test_collect_keeps_only_the_last_bytes_of_a_long_output():
    code, out = collect(start("i=0; while [ $i -lt 3000 ]; do echo line$i; i=$((i+1)); done"))
    assert code == 0 and len(out) == KEPT_OUTPUT
    assert out.endswith(b"line2999\n")


def test_collect_ends_at_the_exit_not_at_the_end_of_the_output_a_daemon_holds_open():
    proc = start("sleep 30 & echo started")
    try:
        code, out = collect(proc)
        assert code == 0 and out == b"started\n"
    finally:
        subprocess.run(["pkill", "-g", str(proc.pid)], check=False)


def test_collect_times_out_with_what_was_printed_so_far():
    proc = start("echo partial; exec sleep 30")
    try:
        with pytest.raises(subprocess.TimeoutExpired) as exc:
            collect(proc, timeout=0.5)
        assert exc.value.output == b"partial\n"
    finally:
        proc.kill()
        proc.wait()
