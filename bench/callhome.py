"""Call Home: time from the management system's listener starting to its first RPC answered.

A config-only agent calls 127.0.0.1:<port> with the persistent strategy. Each round the
listener is down for `--down` seconds (the agent's calls are refused and it backs off), then it
starts listening; the round measures, from that moment:
  - wait for the call: until the agent's TCP connection is accepted (set by the backoff phase
    the agent is in: up to `max_retry_interval`);
  - call to first RPC: SSH handshake, login, <hello>s and one get-config answered (ncclient,
    which is what `manager.call_home` runs on the accepted socket);
and prints the median of each and of the total over `--rounds` rounds.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.modules.setdefault("invoke", None)

import ncclient.transport.session  # noqa: E402
from ncclient import manager  # noqa: E402

from local_agent import PASSWORD, USER, LocalAgent  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_round(port: int) -> tuple[float, float]:
    """(seconds until the call came, seconds from the call to the first RPC answered)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    started = time.perf_counter()
    listener.listen(1)
    try:
        listener.settimeout(60)
        sock, _ = listener.accept()
    finally:
        listener.close()
    called = time.perf_counter()
    with manager.connect_ssh(
        host=None,
        sock=sock,
        username=USER,
        password=PASSWORD,
        hostkey_verify=False,
        allow_agent=False,
        look_for_keys=False,
        timeout=60,
    ) as m:
        m.get_config(source="running")
        answered = time.perf_counter()
    return called - started, answered - called


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--down", type=float, default=2.0, help="listener down before a round")
    parser.add_argument("--retry-interval", type=float, default=0.25)
    parser.add_argument("--max-retry-interval", type=float, default=2.0)
    parser.add_argument(
        "--ncclient-tick",
        type=float,
        default=0.005,
        help="ncclient's send-queue poll (0.1 s stock; it adds up to one tick per RPC)",
    )
    args = parser.parse_args()
    ncclient.transport.session.TICK = args.ncclient_tick  # type: ignore[attr-defined]
    # paramiko reports the reset of a connection both sides close at once; it is no error here.
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)

    port = free_port()
    agent = LocalAgent()
    agent.config.write_text(
        agent.config.read_text()
        + f'[[call_home]]\nname = "bench"\naddress = "127.0.0.1"\nport = {port}\n'
        f"retry_interval = {args.retry_interval}\n"
        f"max_retry_interval = {args.max_retry_interval}\n"
    )
    waits: list[float] = []
    protocol: list[float] = []
    with agent:
        for _ in range(args.rounds):
            time.sleep(args.down)  # nobody listens: the agent's calls fail and back off
            wait, rpc = one_round(port)
            waits.append(wait)
            protocol.append(rpc)
    totals = [w + r for w, r in zip(waits, protocol, strict=True)]
    print(
        f"call home, persistent strategy: retry_interval {args.retry_interval:g} s, "
        f"max_retry_interval {args.max_retry_interval:g} s, backoff 2, jitter 0.1; "
        f"listener down {args.down:g} s before each of {args.rounds} rounds; "
        f"ncclient tick {args.ncclient_tick * 1000:g} ms"
    )
    for name, samples in (
        ("wait for the call", waits),
        ("call to first RPC answered", protocol),
        ("listener start to first RPC", totals),
    ):
        print(
            f"  {name:<30} median {statistics.median(samples) * 1000:8.1f} ms  "
            f"min {min(samples) * 1000:8.1f} ms  max {max(samples) * 1000:8.1f} ms"
        )
    print(f"  load average {os.getloadavg()[0]:.2f} (1 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
