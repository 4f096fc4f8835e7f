"""`ansible-lint --profile production` on the collection (settings in .ansible-lint).

ansible-lint resolves `nnfv.cpe.*` roles and modules through ANSIBLE_COLLECTIONS_PATH: the
link tree of collection_env (this checkout as nnfv.cpe) and the virtual environment's
site-packages (ansible.netcommon and ansible.posix from the `ansible` package).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from collection_env import collections_root

ROOT = Path(__file__).resolve().parents[2]


def test_ansible_lint_production_profile_passes():
    lint = Path(sys.executable).parent / "ansible-lint"
    assert lint.exists(), "ansible-lint is missing: run `make setup` (requirements-dev.txt)"
    paths = f"{collections_root()}{os.pathsep}{sysconfig.get_paths()['purelib']}"
    proc = subprocess.run(
        [str(lint), "--profile", "production", "--offline", "--nocolor"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": paths, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]
    assert "Profile 'production' was required, and it passed" in proc.stderr + proc.stdout
