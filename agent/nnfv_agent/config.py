"""The agent's configuration file (TOML) and password hashing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import AgentError

PBKDF2_ITERATIONS = 200_000
DEFAULT_GROUPS = ("admin",)


@dataclass
class User:
    name: str
    password_hash: str | None = None
    authorized_keys: list[str] = field(default_factory=list)
    # NACM groups this user is in (RFC 8341 "external" groups, from the transport's config).
    # A user listed without `groups` is in DEFAULT_GROUPS, as every user was before NACM.
    groups: list[str] = field(default_factory=lambda: list(DEFAULT_GROUPS))
    # The recovery user bypasses NACM (RFC 8341 3.2.4 "recovery session").
    recovery: bool = False


@dataclass
class CallHomePeer:
    """A management system the agent calls (RFC 8071): it opens TCP, then is the SSH server.

    persistent: stay connected; after a failed attempt wait `retry_interval`, multiplied by
    `backoff` after each further failure up to `max_retry_interval` (less up to `jitter` of it,
    so that a fleet does not call back in step); after a session, call again `retry_interval`
    later.
    periodic: call every `period` seconds (a failed call waits for the next period); the agent
    closes a session idle for `idle_timeout` seconds (0: never) unless it holds a subscription.
    """

    name: str
    address: str
    port: int = 4334
    strategy: str = "persistent"
    retry_interval: float = 5.0
    max_retry_interval: float = 300.0
    backoff: float = 2.0
    jitter: float = 0.1
    period: float = 3600.0
    idle_timeout: float = 120.0
    connect_timeout: float = 10.0

    @property
    def label(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.name} ({host}:{self.port})"


@dataclass
class AgentConfig:
    listen_host: str = "127.0.0.1"
    listen_port: int = 830
    state_dir: Path = Path("/var/lib/nnfv-agent")
    host_key: Path | None = None
    users: list[User] = field(default_factory=list)
    # ---- limits on what clients may cost (sized for a 256 MB CPE; see README) ----
    # NETCONF sessions at once; one more is refused at channel open ("resource shortage").
    max_sessions: int = 24
    # SSH connections that have no NETCONF session yet (not authenticated, or no subsystem).
    max_startups: int = 10
    # ... of which from one source address.
    max_startups_per_source: int = 4
    # Seconds from TCP accept to a NETCONF session; then the connection is closed.
    login_grace_time: float = 30.0
    # Seconds from the server's <hello> to the client's; then the session is closed.
    hello_timeout: float = 30.0
    # Delay before a failed login is answered, doubled per recent failure from the same source.
    failed_login_delay: float = 0.5
    failed_login_max_delay: float = 8.0
    # Bytes in one message (about 1,200 three-NF graphs); one costs up to ~3.5x this at its peak.
    max_message_size: int = 2 * 1024 * 1024
    # XML elements in one message (a message costs memory per element once parsed).
    max_message_elements: int = 50_000
    # Per XPath or subtree filter: wall time in seconds, and memory of the XPath evaluator.
    xpath_timeout: float = 10.0
    xpath_max_memory: int = 64 * 1024 * 1024
    # Notifications waiting for one subscriber; a subscriber that falls this far behind is dropped.
    notification_queue: int = 256
    yang_dir: Path | None = None
    log_level: str = "INFO"
    # "native" deploys graphs on this kernel; "none" keeps config only (management-plane labs).
    dataplane: str = "native"
    # The namespace holding the CPE's interfaces and LSIs (None: the agent's own namespace).
    netns: str | None = None
    # Short id that keeps kernel objects of several agents on one host apart.
    node_id: str | None = None
    script_timeout: float = 30.0
    # Where executables that templates depend on are looked for (also the scripts' PATH).
    executable_path: str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    # Hardware accelerators, which cannot always be probed: (name, kind, description).
    accelerators: list[tuple[str, str, str]] = field(default_factory=list)
    # How often capabilities and NF health are re-checked, in seconds.
    monitor_interval: float = 10.0
    # Seconds a commit waits for another one in progress before it is answered `in-use`.
    commit_wait: float = 10.0
    # ---- runtime supervision (see docs/supervision.md) ----
    # Periodic health check of every NF and LSI, in seconds (process deaths are seen at once,
    # through pidfds; namespaces, ports, LSI tables and status scripts at this pace).
    supervise_interval: float = 5.0
    # Default restart policy (TR-181 AutoRestart); templates and NFs may override each value.
    restart_auto: bool = True
    restart_min_interval: float = 2.0
    restart_max_interval: float = 300.0
    restart_multiplier: float = 2.0
    restart_max_count: int = 10  # 0: no limit
    restart_reset_time: float = 600.0
    # A failed confirmed-commit rollback is retried after these delays (doubling in between).
    rollback_retry_min: float = 1.0
    rollback_retry_max: float = 60.0
    # Management systems to call (RFC 8071 call home), each with its reconnect strategy.
    call_home: list[CallHomePeer] = field(default_factory=list)

    @property
    def host_key_path(self) -> Path:
        return self.host_key or self.state_dir / "ssh_host_ecdsa_key"

    @property
    def effective_node_id(self) -> str:
        if self.node_id:
            return self.node_id
        return hashlib.sha1(str(Path(self.state_dir).resolve()).encode()).hexdigest()[:6]

    def user(self, name: str) -> User | None:
        return next((u for u in self.users if u.name == name), None)


class ConfigError(AgentError, ValueError):
    """agent.toml is unusable; the agent refuses to start."""


_INT_LIMITS = (
    "max_sessions",
    "max_startups",
    "max_startups_per_source",
    "max_message_size",
    "max_message_elements",
    "xpath_max_memory",
    "notification_queue",
)
_TIME_LIMITS = (
    "login_grace_time",
    "hello_timeout",
    "failed_login_delay",
    "failed_login_max_delay",
    "xpath_timeout",
)


_SUPERVISION_TIMES = (
    "supervise_interval",
    "restart_min_interval",
    "restart_max_interval",
    "restart_multiplier",
    "restart_reset_time",
    "rollback_retry_min",
    "rollback_retry_max",
)


def _number(path: Path, key: str, value: object, low: float) -> float:
    """A number (or its text, as the simulated fleet writes it) of at least `low`."""
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: {key} must be a number") from None
    if number < low:
        raise ConfigError(f"{path}: {key} must be at least {low:g}")
    return number


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()):
        raise ConfigError(f"listen address '{value}' is not HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


_KNOWN = {
    "listen",
    "state_dir",
    "host_key",
    "users",
    *_INT_LIMITS,
    *_TIME_LIMITS,
    "yang_dir",
    "log_level",
    "dataplane",
    "netns",
    "node_id",
    "script_timeout",
    "executable_path",
    "accelerators",
    "monitor_interval",
    "commit_wait",
    "restart_auto",
    "restart_max_count",
    *_SUPERVISION_TIMES,
    "call_home",
}
Raw = dict[str, Any]


def load(path: Path | None) -> AgentConfig:
    cfg = AgentConfig()
    if path is None:
        return cfg
    try:
        raw = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    unknown = set(raw) - _KNOWN
    if unknown:
        raise ConfigError(f"{path}: unknown settings: {', '.join(sorted(unknown))}")
    _load_server(cfg, raw, path)
    _load_limits(cfg, raw, path)
    _load_dataplane(cfg, raw, path)
    cfg.accelerators.extend(_accelerators(raw, path))
    cfg.users.extend(_users(raw, path))
    cfg.call_home = _call_home(path, raw.get("call_home", []))
    return cfg


def _load_server(cfg: AgentConfig, raw: Raw, path: Path) -> None:
    """Where the agent listens, keeps its state and finds its modules; how much it logs."""
    if "listen" in raw:
        cfg.listen_host, cfg.listen_port = parse_listen(str(raw["listen"]))
    for key in ("state_dir", "host_key", "yang_dir"):
        if key in raw:
            setattr(cfg, key, Path(raw[key]))
    if "log_level" in raw:
        cfg.log_level = str(raw["log_level"]).upper()


def _load_limits(cfg: AgentConfig, raw: Raw, path: Path) -> None:
    """What a client may cost: counts and sizes (positive integers), times (seconds)."""
    for key in _INT_LIMITS:
        if key in raw:
            value = raw[key]
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{path}: {key} must be a positive integer")
            setattr(cfg, key, value)
    for key in _TIME_LIMITS:
        if key in raw:
            value = raw[key]
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{path}: {key} must be a number of seconds (0 or more)")
            setattr(cfg, key, float(value))


def _load_dataplane(cfg: AgentConfig, raw: Raw, path: Path) -> None:
    """The data plane: its mode, namespace, node id, scripts and monitor."""
    if "dataplane" in raw:
        if raw["dataplane"] not in ("native", "none"):
            raise ConfigError(f"{path}: dataplane must be 'native' or 'none'")
        cfg.dataplane = raw["dataplane"]
    if "netns" in raw:
        cfg.netns = str(raw["netns"]) or None
    if "node_id" in raw:
        node_id = str(raw["node_id"])
        if not node_id.isalnum() or len(node_id) > 12:
            raise ConfigError(f"{path}: node_id must be 1 to 12 letters or digits")
        cfg.node_id = node_id
    if "script_timeout" in raw:
        cfg.script_timeout = float(raw["script_timeout"])
    if "monitor_interval" in raw:
        cfg.monitor_interval = float(raw["monitor_interval"])
    if "commit_wait" in raw:
        cfg.commit_wait = float(raw["commit_wait"])
        if cfg.commit_wait < 0:
            raise ConfigError(f"{path}: commit_wait must be 0 or more seconds")
    if "executable_path" in raw:
        cfg.executable_path = str(raw["executable_path"])
    _load_supervision(cfg, raw, path)


def _load_supervision(cfg: AgentConfig, raw: Raw, path: Path) -> None:
    """Run-time supervision: the check interval, the restart policy, rollback retries."""
    for key in _SUPERVISION_TIMES:
        if key in raw:
            low = 1.0 if key == "restart_multiplier" else 0.0
            setattr(cfg, key, _number(path, key, raw[key], low))
    if cfg.supervise_interval <= 0:
        raise ConfigError(f"{path}: supervise_interval must be more than 0 seconds")
    if "restart_max_count" in raw:
        cfg.restart_max_count = int(_number(path, "restart_max_count", raw["restart_max_count"], 0))
    if "restart_auto" in raw:
        value = raw["restart_auto"]
        if value not in (True, False, "true", "false"):
            raise ConfigError(f"{path}: restart_auto must be true or false")
        cfg.restart_auto = value in (True, "true")


def _accelerators(raw: Raw, path: Path) -> list[tuple[str, str, str]]:
    out = []
    for acc in raw.get("accelerators", []):
        if "name" not in acc or "kind" not in acc:
            raise ConfigError(f"{path}: every [[accelerators]] entry needs a name and a kind")
        out.append((str(acc["name"]), str(acc["kind"]), str(acc.get("description", ""))))
    return out


def _users(raw: Raw, path: Path) -> list[User]:
    out = []
    for entry in raw.get("users", []):
        if "name" not in entry:
            raise ConfigError(f"{path}: every [[users]] entry needs a name")
        keys = entry.get("authorized_keys", [])
        if isinstance(keys, str):
            keys = [keys]
        groups = entry.get("groups", list(DEFAULT_GROUPS))
        if isinstance(groups, str):
            groups = [groups]
        if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
            raise ConfigError(f"{path}: groups of user {entry['name']} must be a list of names")
        recovery = entry.get("recovery", False)
        if not isinstance(recovery, bool):
            raise ConfigError(f"{path}: recovery of user {entry['name']} must be true or false")
        out.append(
            User(entry["name"], entry.get("password_hash"), list(keys), list(groups), recovery)
        )
    return out


_CALL_HOME_KEYS = {
    "name",
    "address",
    "port",
    "strategy",
    "retry_interval",
    "max_retry_interval",
    "backoff",
    "jitter",
    "period",
    "idle_timeout",
    "connect_timeout",
}
# What each strategy reads; a key of the other strategy is a mistake worth reporting.
_STRATEGY_KEYS = {
    "persistent": {"retry_interval", "max_retry_interval", "backoff", "jitter"},
    "periodic": {"period", "idle_timeout"},
}


def _seconds(where: str, key: str, value: object, *, positive: bool) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be a number of seconds")
    if value < 0 or (positive and value == 0):
        raise ConfigError(f"{where}: {key} must be {'more than 0' if positive else '0 or more'}")
    return float(value)


def _call_home(path: Path, entries: object) -> list[CallHomePeer]:
    """The [[call_home]] tables, checked: every mistake is reported with the entry's name."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{path}: call_home must be a list of tables ([[call_home]])")
    peers: list[CallHomePeer] = []
    for index, entry in enumerate(entries, 1):
        name = entry.get("name", f"call-home-{index}")
        where = (
            f"{path}: [[call_home]] {name!r}"
            if "name" in entry
            else f"{path}: [[call_home]] #{index}"
        )
        peer = _call_home_peer(where, name, entry)
        if any(p.name == peer.name for p in peers):
            raise ConfigError(f"{where}: two [[call_home]] entries are named {peer.name!r}")
        peers.append(peer)
    return peers


def _call_home_peer(where: str, name: object, entry: dict[str, Any]) -> CallHomePeer:
    """Who to call and how: the entry's address, port and strategy."""
    if not isinstance(name, str) or not name or not name.isprintable():
        raise ConfigError(f"{where}: name must be a non-empty string")
    unknown = set(entry) - _CALL_HOME_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown settings: {', '.join(sorted(unknown))}")
    address = entry.get("address")
    if not isinstance(address, str) or not address.strip("[]"):
        raise ConfigError(f"{where}: address (host name or IP address to call) is required")
    port = entry.get("port", 4334)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ConfigError(f"{where}: port must be an integer from 1 to 65535")
    strategy = entry.get("strategy", "persistent")
    if strategy not in _STRATEGY_KEYS:
        raise ConfigError(f"{where}: strategy must be 'persistent' or 'periodic'")
    other = next(s for s in _STRATEGY_KEYS if s != strategy)
    misplaced = set(entry) & _STRATEGY_KEYS[other]
    if misplaced:
        raise ConfigError(
            f"{where}: {', '.join(sorted(misplaced))} only apply to the {other} strategy"
        )
    peer = CallHomePeer(name, address.strip("[]"), port, strategy)
    _call_home_timing(where, peer, entry)
    return peer


def _call_home_timing(where: str, peer: CallHomePeer, entry: dict[str, Any]) -> None:
    """The reconnect strategy's numbers, each checked against its range."""
    for key in ("retry_interval", "max_retry_interval", "period", "connect_timeout"):
        if key in entry:
            setattr(peer, key, _seconds(where, key, entry[key], positive=True))
    if "idle_timeout" in entry:
        peer.idle_timeout = _seconds(where, "idle_timeout", entry["idle_timeout"], positive=False)
    if "backoff" in entry:
        peer.backoff = _seconds(where, "backoff", entry["backoff"], positive=True)
        if peer.backoff < 1:
            raise ConfigError(f"{where}: backoff must be 1 (no growth) or more")
    if "jitter" in entry:
        peer.jitter = _seconds(where, "jitter", entry["jitter"], positive=False)
        if peer.jitter >= 1:
            raise ConfigError(f"{where}: jitter must be a fraction from 0 to less than 1")
    if peer.max_retry_interval < peer.retry_interval:
        raise ConfigError(f"{where}: max_retry_interval must be at least retry_interval")


def hash_password(
    password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS
) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return "$".join(
        [
            "pbkdf2-sha256",
            str(iterations),
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        ]
    )


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2-sha256":
        return False
    got = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(got, base64.b64decode(digest))
