"""Build the nnfv.cpe collection tarball, with the agent inside it.

    python scripts/build_collection.py [--output-path DIR]

The collection's files (what galaxy.yml's build_ignore keeps) are staged in a temporary
directory with a wheel of agent/ in roles/agent/files/, and `ansible-galaxy collection build`
makes DIR/nnfv-cpe-<version>.tar.gz of them. The agent role installs that wheel when the
collection is installed from the tarball, so a controller needs nothing else from this
repository. The checkout itself is left as it was.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ALWAYS_LEFT_OUT = [".venv", ".git", "__pycache__", "*.pyc"]


def stage(dest: Path) -> None:
    """Copy the collection's files (not those of build_ignore) to `dest`."""
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    patterns = list(galaxy.get("build_ignore") or [])

    def ignored(directory: str, names: list[str]) -> list[str]:
        rel = Path(directory).relative_to(ROOT)
        out = []
        for name in names:
            path = str(rel / name) if str(rel) != "." else name
            # build_ignore matches paths from the collection root, as ansible-galaxy does
            if any(fnmatch.fnmatch(path, p) for p in patterns) or any(
                fnmatch.fnmatch(name, p) for p in ALWAYS_LEFT_OUT
            ):
                out.append(name)
        return out

    shutil.copytree(ROOT, dest, ignore=ignored, symlinks=True)


def agent_wheel(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            str(BIN / "python"),
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "--wheel-dir",
            str(dest),
            str(ROOT / "agent"),
        ],
        check=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": "315532800"},
    )
    wheels = sorted(dest.glob("nnfv_agent-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one agent wheel in {dest}, found {wheels}")
    return wheels[0]


def build(output: Path) -> Path:
    """Build the tarball into `output`; returns its path."""
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nnfv-collection-") as tmp:
        staged = Path(tmp) / "nnfv.cpe"
        stage(staged)
        agent_wheel(staged / "roles" / "agent" / "files")
        proc = subprocess.run(
            [
                str(BIN / "ansible-galaxy"),
                "collection",
                "build",
                str(staged),
                "--output-path",
                str(output.resolve()),
                "--force",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"ansible-galaxy collection build failed:\n{proc.stderr}")
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    return output / f"nnfv-cpe-{version}.tar.gz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-path", type=Path, default=ROOT / "out")
    args = parser.parse_args()
    print(build(args.output_path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
