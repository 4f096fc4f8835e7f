"""Kernel tests: the drivers and the shipped templates against real cgroups, links and
namespaces. Every test below this directory is marked `kernel` (registered in pytest.ini), so
`pytest -m "not kernel"` leaves them out and `pytest tests/kernel` runs only them; they need
root and skip themselves without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.kernel)
