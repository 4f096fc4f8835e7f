"""Each test of the network drivers gets a network namespace of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.kernel import fresh_netns


@pytest.fixture
def netns() -> Iterator[str]:
    with fresh_netns() as name:
        yield name
