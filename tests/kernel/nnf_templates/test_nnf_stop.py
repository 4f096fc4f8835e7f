"""Every shipped template's stop script: safe after a failed start, or twice."""

from __future__ import annotations

import pytest

from support.nnf_templates import SOURCE_DIR

NAMES = sorted(p.name for p in SOURCE_DIR.iterdir() if (p / "template.xml").is_file())


@pytest.mark.parametrize("name", NAMES)
def test_stop_without_start_succeeds(name, lab, nnf_template):
    """The agent may call stop after a failed start, or twice: it must never fail."""
    tpl = nnf_template(name)
    inst = lab.instance(name, [f"p{i}" for i in range(len(tpl.ports))])
    peer = lab.netns()
    for i in range(len(tpl.ports)):
        lab.link(inst.ns, f"p{i}", peer, f"p{i}")
    inst.run("stop")
    inst.run("stop")
    if "status" in tpl.scripts:
        assert inst.run("status", check=False).returncode != 0
