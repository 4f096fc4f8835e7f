"""State files: crash-safe writes (`fsutil`) with an integrity header and a kept generation.

State files (running, startup, the confirmed-commit rollback) carry an integrity header,
so that damage the file system lets through (a power cut that leaves a zero-filled, truncated
or empty file) is detected instead of being read as an empty configuration:

    <!-- nnfv-state sha256=<hex digest of the content> length=<bytes of the content> -->
    <the content, possibly empty>

The header is an XML comment, so the file stays readable XML. Each write keeps the generation
it replaces as ``<name>.prev`` (a hard link, only if that generation is intact), and a reader
that finds the file damaged falls back to it.

State files can hold secrets (an ipsec NF's pre-shared key is configuration), so every file
written here is 0600 and the state directory 0700, whoever created them and whatever the umask.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import AgentError
from ..fsutil import (
    DIR_MODE,
    FileVersion,
    file_version,
    previous_path,
    replace_durably,
    temp_path,
    text_digest,
)

log = logging.getLogger(__name__)

_HEADER = re.compile(rb"<!-- nnfv-state sha256=([0-9a-f]{64}) length=([0-9]+) -->\n")
_HEADER_START = b"<!-- nnfv-state"

# The files this process wrote and has not seen changed since: (inode, mtime, size) by path.
# Re-checking our own last write before keeping it as `.prev` cost a read and a SHA-256 of
# the whole running per commit (about 1 ms per 400 kB); anything else touching the file
# changes its inode or mtime, and is then checked in full.
_written: dict[Path, FileVersion] = {}


class DamagedStateError(AgentError):
    """A state file is damaged and no intact earlier generation of it exists."""


@dataclass(frozen=True)
class StateText:
    """What `read_state` found: the content, and where it came from if not the file itself."""

    text: str
    recovered_from: Path | None = None
    damage: str | None = None  # why the file itself was not used


def secure_state_dir(path: Path) -> None:
    """Create `path` (0700) or make it 0700, and take group and other access off its files."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != DIR_MODE:
        log.warning("state directory %s was mode %o; made it 0700", path, path.stat().st_mode)
        path.chmod(DIR_MODE)
    for entry in path.iterdir():
        try:
            st = entry.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077:
            entry.chmod(stat.S_IMODE(st.st_mode) & ~0o077)


# ---- state files with an integrity header -----------------------------------------------


def encode_state(text: str) -> bytes:
    body = text.encode("utf-8")
    digest = text_digest(text)  # a commit's journal has just digested the same running
    return f"<!-- nnfv-state sha256={digest} length={len(body)} -->\n".encode() + body


def decode_state(raw: bytes) -> tuple[str | None, str | None]:
    """(content, None) for an intact file, (None, what is wrong) for a damaged one.

    A file without the header was written by an agent before the header existed; it is
    accepted if nothing shows damage (the XML parser checks the rest).
    """
    if not raw:
        return None, "it is empty (0 bytes)"
    if b"\0" in raw:
        lead = len(raw) - len(raw.lstrip(b"\0"))
        if lead == len(raw):
            return None, f"it is zero-filled ({len(raw)} NUL bytes)"
        return None, "it contains NUL bytes" + (f" ({lead} leading)" if lead else "")
    if not raw.strip():
        return None, "it contains only whitespace"
    match = _HEADER.match(raw)
    if match is None:
        if raw.startswith(_HEADER_START):
            return None, "its integrity header is damaged"
        try:
            return raw.decode("utf-8"), None
        except UnicodeDecodeError:
            return None, "it is not UTF-8 text"
    body = raw[match.end() :]
    length = int(match.group(2))
    if len(body) != length:
        return None, f"it is truncated or extended: {len(body)} bytes of content, {length} written"
    if hashlib.sha256(body).hexdigest() != match.group(1).decode():
        return None, "its checksum does not match its content"
    try:
        return body.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, "it is not UTF-8 text"


def write_state(path: Path, text: str, *, keep_previous: bool = True) -> None:
    """Write `text` with its integrity header; keep the replaced generation as <path>.prev.

    The earlier generation is kept only if it is intact, so a damaged file never replaces a
    good `.prev`. An empty `text` is written explicitly (a header and nothing else).
    """
    if keep_previous:
        _keep_previous(path)
    replace_durably(path, encode_state(text))
    version = file_version(path)
    if version is not None:
        _written[path] = version


def read_state(path: Path, *, use_previous: bool = True) -> StateText | None:
    """The content of a state file; None if it does not exist.

    A damaged file is never read as empty: its last intact generation (<path>.prev) is used
    instead, saying so in the log, or DamagedStateError is raised with what is wrong and how to
    recover.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    text, damage = decode_state(raw)
    if text is not None:
        return StateText(text)
    log.error("state file %s is damaged: %s", path, damage)
    previous = previous_path(path)
    if use_previous:
        try:
            prev_text, prev_damage = decode_state(previous.read_bytes())
        except FileNotFoundError:
            prev_text, prev_damage = None, "it does not exist"
        if prev_text is not None:
            log.warning(
                "state file %s is damaged (%s); using its last intact generation %s",
                path,
                damage,
                previous,
            )
            return StateText(prev_text, recovered_from=previous, damage=damage)
        fallback = f"; its earlier generation {previous.name} cannot be used either: {prev_damage}"
    else:
        fallback = ""
    raise DamagedStateError(
        f"state file {path} is damaged: {damage}{fallback}. Refusing to start rather than "
        "lose configuration: restore the file from a backup, or remove it to start from "
        "startup (running.xml) or with no pending confirmed commit (rollback file)"
    )


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Remove what interrupted writes left in `directory` (recursively): the `.<name>.tmp` of
    `atomic_write`/`write_state` and the `.<name>.*.part` files and directories of template
    downloads and extractions.

    Only call this when no write can be in progress (at start-up, before anything is written).
    """
    removed: list[Path] = []
    try:
        candidates = [
            p
            for pattern in (".*.tmp", ".*.part")
            for p in directory.rglob(pattern)
            if p.name.startswith(".")
        ]
    except FileNotFoundError:
        return removed
    for stale in sorted(candidates):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            try:
                stale.unlink()
            except FileNotFoundError:
                continue
        removed.append(stale)
    if removed:
        log.warning("removed stale temporary files: %s", ", ".join(str(p) for p in removed))
    return removed


def _keep_previous(path: Path) -> None:
    version = file_version(path)
    if version is None:
        return
    if _written.get(path) != version:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return
        if decode_state(raw)[0] is None:
            log.warning("not keeping damaged %s as the previous generation", path)
            return
    previous = previous_path(path)
    staged = temp_path(previous)
    staged.unlink(missing_ok=True)
    os.link(path, staged)
    os.replace(staged, previous)
