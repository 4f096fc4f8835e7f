"""Every shipped template: a valid descriptor, consistent with its scripts and README."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import nnfv_agent
from support.nnf_templates import Template

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES_DIR = Path(nnfv_agent.__file__).parent / "nnf_templates"
NAMES = sorted(p.name for p in TEMPLATES_DIR.iterdir() if (p / "template.xml").is_file())
DUMMY = "<uri>file:///x.tgz</uri>\n    <sha256>" + "0" * 64 + "</sha256>\n"


def test_the_five_templates_are_shipped():
    assert NAMES == ["bridge", "dhcp-server", "firewall", "ipsec", "nat"]


@pytest.mark.parametrize("name", NAMES)
def test_descriptor_validates_with_yanglint(name, tmp_path):
    if shutil.which("yanglint") is None:
        pytest.skip("yanglint is not installed")
    text = (TEMPLATES_DIR / name / "template.xml").read_text()
    assert "<uri>" not in text and "<sha256>" not in text, "the agent fills uri and sha256"
    # uri and sha256 are mandatory in the model: insert dummies after functional-type.
    text = re.sub(r"(</functional-type>\n)(\s*)", lambda m: m[1] + m[2] + DUMMY + m[2], text)
    doc = tmp_path / f"{name}.xml"
    doc.write_text(text)
    yang = ROOT / "yang"
    res = subprocess.run(
        [
            *("yanglint", "-p", str(yang), "-p", str(yang / "ietf"), "-t", "config"),
            *(str(yang / "nnfv-nnf-template.yang"), str(doc)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0 and not res.stderr.strip(), res.stderr


@pytest.mark.parametrize("name", NAMES)
def test_descriptor_matches_the_directory(name):
    tpl = Template(name)
    assert tpl.text("name") == name
    assert tpl.text("functional-type") == name
    assert tpl.text("vnf-type") == "native"
    assert {"start", "stop"} <= set(tpl.scripts)
    assert (tpl.dir / "README.md").is_file()
    scripts = sorted((tpl.dir / "scripts").iterdir())
    for path in tpl.scripts.values():
        assert path in scripts, f"{path} is not in scripts/"
    for path in scripts:
        text = path.read_text()
        if path.suffix == ".sh":  # sourced libraries
            assert not os.access(path, os.X_OK)
            continue
        assert os.access(path, os.X_OK), f"{path} is not executable"
        assert text.startswith("#!/bin/sh\n"), path
        assert "\nset -eu\n" in text, path


@pytest.mark.parametrize("name", NAMES)
def test_scripts_use_only_declared_parameters_and_readme_documents_them(name):
    tpl = Template(name)
    declared = {tpl.env_name(p) for p in tpl.params}
    used = set()
    for path in (tpl.dir / "scripts").iterdir():
        used |= set(re.findall(r"NNFV_PARAM_([A-Z0-9_]+)", path.read_text()))
    assert used <= declared, f"undeclared parameters used: {used - declared}"
    assert used == declared, f"declared parameters never used: {declared - used}"
    readme = (tpl.dir / "README.md").read_text()
    for param in tpl.params:
        assert f"`{param}`" in readme, f"README does not document {param}"
    for port in tpl.ports:
        assert f"`{port}`" in readme, f"README does not document port {port}"


@pytest.mark.parametrize("name", NAMES)
def test_scripts_parse_as_posix_sh(name):
    for path in (TEMPLATES_DIR / name / "scripts").iterdir():
        res = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True)
        assert res.returncode == 0, f"{path}: {res.stderr}"


@pytest.mark.parametrize("name", NAMES)
def test_scripts_pass_shellcheck(name):
    """Optional: only where shellcheck is installed (it is not part of the set-up)."""
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    scripts = TEMPLATES_DIR / name / "scripts"
    res = subprocess.run(
        [
            "shellcheck",
            "-x",
            "-P",
            "SCRIPTDIR",
            "-s",
            "sh",
            *sorted(p.name for p in scripts.iterdir()),
        ],
        cwd=scripts,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr


LIB = TEMPLATES_DIR / "lib" / "common.sh"


def test_shared_shell_library_parses_as_posix_sh():
    res = subprocess.run(["sh", "-n", str(LIB)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("name", NAMES)
def test_each_template_sources_the_shared_library_and_does_not_copy_it(name):
    common = (TEMPLATES_DIR / name / "scripts" / "common.sh").read_text()
    assert '. "$(dirname -- "$0")/nnfv-lib.sh"' in common
    shared = re.findall(r"^([a-z_0-9]+)\(\) \{", LIB.read_text(), re.M)
    own = re.findall(r"^([a-z_0-9]+)\(\) \{", common, re.M)
    # A template may redefine a shared function (dhcp-server has one port), never copy it.
    for fn in set(shared) & set(own):
        lib_body = re.search(rf"^{fn}\(\) \{{.*?^\}}", LIB.read_text(), re.M | re.S)
        own_body = re.search(rf"^{fn}\(\) \{{.*?^\}}", common, re.M | re.S)
        assert lib_body and own_body and lib_body[0] != own_body[0], f"{name} copies {fn}"
