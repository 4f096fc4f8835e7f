"""What fetching and extraction share: the error they raise and the digest they check."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ....errors import AgentError

CHUNK = 1024 * 1024


class ArchiveError(AgentError):
    """A template archive could not be fetched, verified, extracted or packed."""

    app_tag = "template-archive"


def sha256_file(path: Path) -> str:
    """Lower-case hex sha256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
