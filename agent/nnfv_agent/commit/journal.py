"""Write-ahead intent of one commit, so that a crash at any step recovers to one side of it.

The first line is the intent (the target running and the plan), made durable before the first
step touches the kernel. Each finished step appends a line; those appends are not fsync'd,
because recovery does not depend on them: every kernel object is named from the
configuration, and at boot the reconciler makes the kernel match whichever running is on disk
(the old one if the commit was cut before its running was made durable, else the new one).
The step lines say in the log how far the cut commit went.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..fsutil import text_digest as digest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CutCommit:
    """What the journal of an interrupted commit says."""

    target_digest: str
    previous_digest: str
    steps: list[str]
    finished: list[str]

    def outcome(self, running_xml: str) -> str:
        """'new' when the cut commit's running was already durable, else 'old'."""
        return "new" if digest(running_xml) == self.target_digest else "old"


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fh: TextIO | None = None

    def begin(self, *, previous_xml: str, target_xml: str, steps: list[str]) -> None:
        header = {
            "target": digest(target_xml),
            "previous": digest(previous_xml),
            "steps": steps,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            self._fh = os.fdopen(fd, "w", encoding="utf-8")
            self._fh.write(json.dumps(header) + "\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())
            _fsync_dir(self.path.parent)
        except OSError as exc:
            # No step has run: no intent to keep (closing may fail again on a full disk).
            with contextlib.suppress(OSError):
                if self._fh is not None:
                    self._fh.close()
            self._fh = None
            self.path.unlink(missing_ok=True)
            # A full disk names no file; say which one was not written.
            raise OSError(exc.errno, exc.strerror, str(self.path)) from exc

    def step_done(self, index: int, description: str) -> None:
        if self._fh is not None:
            self._fh.write(json.dumps({"done": index, "step": description}) + "\n")
            self._fh.flush()

    def clear(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        try:
            self.path.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(self.path.parent)

    def read(self) -> CutCommit | None:
        """The interrupted commit, or None when the last commit finished."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return None
        try:
            header = json.loads(lines[0])
            finished = []
            for line in lines[1:]:
                try:
                    finished.append(json.loads(line)["step"])
                except (ValueError, KeyError):
                    break  # a torn last append: the step count is informative only
            return CutCommit(header["target"], header["previous"], header["steps"], finished)
        except (IndexError, ValueError, KeyError, TypeError):
            # The intent itself is torn: the crash came before it was durable, so no step ran.
            log.warning("commit journal %s is incomplete; no step of it had started", self.path)
            return CutCommit("", "", [], [])


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
