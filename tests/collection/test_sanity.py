"""`ansible-test sanity` on the collection, for the installed ansible-core.

ansible-test wants the collection at .../ansible_collections/nnfv/cpe, so the collection's
files (what galaxy.yml's build_ignore keeps) are copied into a temporary tree, next to links
to ansible.netcommon (and ansible.utils, which netcommon needs) from the `ansible` package.
Its sanity environments are cached in ~/.ansible/test/venv; their pip bootstrap comes from
ansible_test_get_pip.py.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
COLLECTION_FILES = [
    "galaxy.yml",
    "meta",
    "plugins",
    "roles",
    "playbooks",
    "changelogs",
    "docs/ansible.md",
    "requirements.txt",
    "bindep.txt",
    "LICENSES",
    "CHANGELOG.rst",
    "tests/sanity",
]


def site_collections() -> Path:
    import ansible_collections.ansible.netcommon as netcommon

    return Path(next(iter(netcommon.__path__))).parents[1]


def seed_pip_bootstrap() -> None:
    from ansible_test._internal.python_requirements import get_venv_packages

    class Python:
        version = f"{sys.version_info.major}.{sys.version_info.minor}"

    version = get_venv_packages(Python())["pip"]
    cache = Path.home() / ".ansible/test/cache" / f"get_pip_{version.replace('.', '_')}.py"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(HERE / "ansible_test_get_pip.py", cache)


def test_ansible_test_sanity_is_clean():
    pytest.importorskip("ansible_test")
    seed_pip_bootstrap()
    tmp = Path(tempfile.mkdtemp(prefix="nnfv-sanity-"))
    try:
        tree = tmp / "ansible_collections" / "nnfv" / "cpe"
        tree.mkdir(parents=True)
        for name in COLLECTION_FILES:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
            elif src.exists():
                (tree / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(src, tree / name)
        (tmp / "ansible_collections" / "ansible").mkdir()
        for dep in ("netcommon", "utils"):
            (tmp / "ansible_collections" / "ansible" / dep).symlink_to(
                site_collections() / "ansible" / dep
            )
        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        proc = subprocess.run(
            [
                str(Path(sys.executable).parent / "ansible-test"),
                "sanity",
                "--python",
                python,
                "--color",
                "no",
            ],
            cwd=tree,
            capture_output=True,
            text=True,
            timeout=900,
        )
        errors = [
            ln
            for ln in proc.stdout.splitlines() + proc.stderr.splitlines()
            if ln.startswith(("ERROR", "FATAL"))
        ]
        assert proc.returncode == 0, "\n".join(errors) or proc.stdout[-4000:] + proc.stderr[-4000:]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
