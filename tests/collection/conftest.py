"""Fixtures of the collection tests: the collection on sys.path, a simulated fleet, playbooks."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from collection_env import collections_root, playbook

import simfleet

# `ansible_collections.nnfv.cpe` for the unit tests of module_utils.
sys.path.insert(0, str(collections_root()))


@dataclass
class PlayResult:
    rc: int
    raw: dict | str
    stderr: str
    tasks: dict[str, dict[str, dict]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.raw, dict):
            for play in self.raw.get("plays", []):
                for task in play.get("tasks", []):
                    self.tasks.setdefault(task["task"]["name"], {}).update(task["hosts"])

    def __getitem__(self, task: str) -> dict[str, dict]:
        return self.tasks[task]

    @property
    def stats(self) -> dict[str, dict]:
        return self.raw.get("stats", {}) if isinstance(self.raw, dict) else {}

    def explain(self) -> str:
        text = self.raw if isinstance(self.raw, str) else json.dumps(self.raw, indent=1)
        return f"rc={self.rc}\n{text[-6000:]}\n{self.stderr[-3000:]}"


@dataclass
class Fleet:
    dir: Path
    cpes: list[simfleet.SimCpe]

    @property
    def inventory(self) -> Path:
        return self.dir / "inventory.yml"

    @property
    def hosts(self) -> list[str]:
        return [c.id for c in self.cpes]

    def cpe(self, host: str) -> simfleet.SimCpe:
        return next(c for c in self.cpes if c.id == host)

    def play(
        self,
        tasks: list[dict],
        *args: str,
        hosts: str = "cpes",
        json_output: bool = True,
        play_vars: dict | None = None,
        more_plays: list[dict] | None = None,
        keywords: dict | None = None,
    ) -> PlayResult:
        """Run one play (tasks as Python data) against the fleet, then `more_plays`.

        `keywords` are more play keywords (gather_facts, module_defaults, ...)."""
        play = {"hosts": hosts, "gather_facts": False, "vars": play_vars or {}, "tasks": tasks}
        book = [{**play, **(keywords or {})}]
        book += [{"gather_facts": False, **p} for p in more_plays or []]
        path = self.dir / f"play-{secrets.token_hex(4)}.yml"
        path.write_text(json.dumps(book, indent=1))
        rc, raw, err = playbook(path, self.inventory, *args, json_output=json_output, forks=10)
        return PlayResult(rc, raw, err)


def bring_up(count: int) -> Fleet:
    base = Path(tempfile.mkdtemp(prefix="nnfv-cfleet-"))
    prefix = "c" + secrets.token_hex(2)
    try:
        cpes = simfleet.up(count, base, prefix=prefix)
    except BaseException:
        simfleet.down(base)
        shutil.rmtree(base, ignore_errors=True)
        raise
    return Fleet(base, cpes)


@pytest.fixture(scope="module")
def fleet(request) -> Fleet:
    """A fleet of simulated CPEs shared by one test module (FLEET_SIZE, default 10)."""
    if os.geteuid() != 0:
        pytest.skip("simulated CPEs need root (network namespaces)")
    made = bring_up(getattr(request.module, "FLEET_SIZE", 10))

    def tear_down() -> None:
        # the objects know the current agent pids (a test may have restarted an agent)
        for cpe in made.cpes:
            cpe.destroy()
        simfleet.down(made.dir)

    request.addfinalizer(tear_down)
    return made
