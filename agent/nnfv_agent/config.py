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

PBKDF2_ITERATIONS = 200_000


@dataclass
class User:
    name: str
    password_hash: str | None = None
    authorized_keys: list[str] = field(default_factory=list)


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


class ConfigError(ValueError):
    pass


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
        out.append(User(entry["name"], entry.get("password_hash"), list(keys)))
    return out


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
