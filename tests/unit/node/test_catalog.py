"""The shipped-template catalog: each template packed with the shared shell library, by digest.

The kernel test of a failed packing (a full tmpfs) is tests/kernel/node/test_catalog.py.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from urllib.parse import urlsplit

from nnfv_agent.drivers.compute.archive import extract, fetch, sha256_file
from nnfv_agent.node.catalog import LIB_IN_ARCHIVE, SHIPPED_DIR, Catalog, shipped_extras

LIB = SHIPPED_DIR / "lib" / "common.sh"
SHIPPED = sorted(p.parent.name for p in SHIPPED_DIR.glob("*/template.xml"))


def test_the_shared_library_is_not_a_template(tmp_path: Path) -> None:
    assert "lib" not in Catalog(tmp_path).shipped()
    assert sorted(Catalog(tmp_path).shipped()) == SHIPPED


def test_each_archive_carries_the_library_and_matches_its_digest(tmp_path: Path) -> None:
    for name, tpl in Catalog(tmp_path).shipped().items():
        assert tpl.uri is not None and tpl.sha256 is not None
        archive = Path(urlsplit(tpl.uri).path)
        assert sha256_file(archive) == tpl.sha256, name
        with tarfile.open(archive) as tar:
            member = tar.extractfile(LIB_IN_ARCHIVE)
            assert member is not None, f"{name} has no {LIB_IN_ARCHIVE}"
            assert member.read() == LIB.read_bytes()


def test_digests_do_not_depend_on_where_or_when_the_catalog_packs(tmp_path: Path) -> None:
    first = {n: t.sha256 for n, t in Catalog(tmp_path / "a").shipped().items()}
    second = {n: t.sha256 for n, t in Catalog(tmp_path / "b").shipped().items()}
    assert first == second


def test_an_extracted_archive_stands_alone(tmp_path: Path) -> None:
    """What each template's common.sh sources is inside its own archive."""
    for name, tpl in Catalog(tmp_path / "cache").shipped().items():
        assert tpl.uri is not None and tpl.sha256 is not None
        dest = tmp_path / "run" / name
        extract(fetch(tpl.uri, tmp_path / "fetched", tpl.sha256), dest)
        assert (dest / "scripts" / "common.sh").is_file()
        assert (dest / LIB_IN_ARCHIVE).read_bytes() == LIB.read_bytes()


def test_only_templates_with_scripts_get_the_library(tmp_path: Path) -> None:
    assert shipped_extras(SHIPPED_DIR / "nat") == {LIB_IN_ARCHIVE: LIB}
    assert shipped_extras(tmp_path) == {}
