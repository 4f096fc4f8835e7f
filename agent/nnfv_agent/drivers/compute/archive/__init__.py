"""NNF template archives: fetch into a digest-addressed cache (fetching.py) and extract safely
(extraction.py). Packing, a job of whoever builds archives, is in node/packing.py.

A template arrives as a .tgz named by its sha256. The archive comes from outside the CPE, so
extraction trusts nothing in it.
"""

from .common import ArchiveError, sha256_file
from .extraction import extract
from .fetching import MAX_ARCHIVE_SIZE, fetch

__all__ = ["MAX_ARCHIVE_SIZE", "ArchiveError", "extract", "fetch", "sha256_file"]
