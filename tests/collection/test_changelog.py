"""The collection's changelog: fragments and changelog.yaml pass antsibull-changelog's lint,
and CHANGELOG.rst is what `antsibull-changelog generate` writes from changelog.yaml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOL = Path(sys.executable).parent / "antsibull-changelog"


def changelog(*args: str) -> subprocess.CompletedProcess:
    assert TOOL.exists(), "antsibull-changelog is missing: run `make setup` (requirements-dev.txt)"
    return subprocess.run([str(TOOL), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_fragments_and_changelog_yaml_pass_antsibull_changelog_lint():
    for args in (("lint",), ("lint-changelog-yaml", "changelogs/changelog.yaml")):
        proc = changelog(*args)
        assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_every_fragment_has_at_least_one_entry_in_a_known_section():
    config = yaml.safe_load((ROOT / "changelogs/config.yaml").read_text())
    sections = {name for name, _title in config["sections"]} | {"release_summary", "trivial"}
    fragments = sorted((ROOT / "changelogs/fragments").glob("*.yml"))
    assert fragments
    for fragment in fragments:
        entries = yaml.safe_load(fragment.read_text())
        assert entries and set(entries) <= sections, fragment.name
        assert all(entries.values()), fragment.name


def test_changelog_rst_is_generated_from_changelog_yaml(tmp_path):
    out = tmp_path / "CHANGELOG.rst"
    proc = changelog("generate", "--output", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.read_text() == (ROOT / "CHANGELOG.rst").read_text(), (
        "run antsibull-changelog generate"
    )
