"""`nnfv-agent`: run the NETCONF agent of one CPE."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from . import __version__
from .config import ConfigError, hash_password, load, parse_listen


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnfv-agent",
        description="NETCONF agent that deploys service graphs of native network functions "
        "on this CPE.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML configuration file (listen, state_dir, host_key, users)",
    )
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="address to listen on; overrides the config file (port 0 picks a free port)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="where datastores, host key and NF state live; overrides the config file",
    )
    parser.add_argument(
        "--port-file",
        type=Path,
        metavar="FILE",
        help="write the bound port to FILE once the agent accepts sessions",
    )
    parser.add_argument(
        "--hash-password",
        action="store_true",
        help="read a password on stdin, print its hash for the config file, and exit",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.hash_password:
        password = (
            getpass.getpass("password: ")
            if sys.stdin.isatty()
            else sys.stdin.readline().rstrip("\n")
        )
        print(hash_password(password))
        return 0
    try:
        config = load(args.config)
        if args.listen:
            config.listen_host, config.listen_port = parse_listen(args.listen)
        if args.state_dir:
            config.state_dir = args.state_dir
    except ConfigError as exc:
        print(f"nnfv-agent: {exc}", file=sys.stderr)
        return 2
    if not config.users:
        print(
            "nnfv-agent: no users configured; refusing to run without authentication",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(
        level=getattr(logging, config.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("paramiko").setLevel(logging.WARNING)
    logging.getLogger("pyroute2").setLevel(logging.WARNING)

    # paramiko.config imports `invoke` (when installed) only for ProxyCommand `Match exec`, a
    # client feature; on a 256 MB CPE its ~6 MB are better left unloaded.
    sys.modules.setdefault("invoke", None)  # type: ignore[arg-type]  # None: "not installed"
    from .server import Agent  # imported late so that --help and --version stay fast

    try:
        agent = Agent(config)
        port = agent.start()
    except (OSError, RuntimeError) as exc:
        print(f"nnfv-agent: {exc}", file=sys.stderr)
        return 1
    if args.port_file:
        args.port_file.write_text(f"{port}\n")
    stop = threading.Event()
    main_pid = os.getpid()

    def _stop(signum: int, frame: FrameType | None) -> None:
        # pyroute2 forks helper processes for netlink in other namespaces and ends them with
        # SIGTERM; they inherit this handler, and must not shut down the listening socket
        # they share with the agent.
        if os.getpid() != main_pid:
            os._exit(0)
        stop.set()
        agent.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        agent.serve_forever()
    except OSError:
        if not stop.is_set():
            raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
