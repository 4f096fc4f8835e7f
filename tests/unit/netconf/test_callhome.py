"""The call-home waits (pure): backoff schedule, jitter, and the periodic strategy's clock."""

from __future__ import annotations

import pytest

from nnfv_agent.netconf.callhome import Backoff, next_period_start


def test_backoff_doubles_from_the_retry_interval_up_to_the_maximum():
    backoff = Backoff(0.5, 4.0, 2.0)
    assert [backoff.next_delay() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]


def test_backoff_grows_by_the_configured_factor():
    backoff = Backoff(1.0, 100.0, 3.0)
    assert [backoff.next_delay() for _ in range(5)] == [1.0, 3.0, 9.0, 27.0, 81.0]


def test_backoff_factor_one_keeps_a_constant_interval():
    backoff = Backoff(5.0, 300.0, 1.0)
    assert [backoff.next_delay() for _ in range(4)] == [5.0] * 4


def test_backoff_starts_again_after_reset():
    backoff = Backoff(0.5, 4.0, 2.0)
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert [backoff.next_delay() for _ in range(2)] == [0.5, 1.0]


def test_backoff_stays_at_the_maximum_after_very_many_failures_without_overflow():
    backoff = Backoff(1.0, 300.0, 10.0)
    for _ in range(100_000):
        delay = backoff.next_delay()
    assert delay == 300.0


@pytest.mark.parametrize("draw", [0.0, 0.5, 0.999])
def test_backoff_jitter_only_shortens_the_wait_by_at_most_its_fraction(draw):
    plain = Backoff(1.0, 8.0, 2.0)
    jittered = Backoff(1.0, 8.0, 2.0, jitter=0.2, rand=lambda: draw)
    for _ in range(6):
        base, delay = plain.next_delay(), jittered.next_delay()
        assert base * 0.8 <= delay <= base
        assert delay == pytest.approx(base * (1 - 0.2 * draw))


def test_backoff_with_jitter_below_half_still_grows_while_doubling():
    draws = iter([0.0, 0.99, 0.0, 0.99, 0.0, 0.99])
    backoff = Backoff(1.0, 64.0, 2.0, jitter=0.4, rand=lambda: next(draws))
    delays = [backoff.next_delay() for _ in range(6)]
    assert delays == sorted(delays) and len(set(delays)) == 6


@pytest.mark.parametrize(
    ("started", "now", "expected"),
    [
        (100.0, 100.0, 160.0),  # right after the call: one period later
        (100.0, 130.0, 160.0),  # a short session: still the next period
        (100.0, 160.0, 220.0),  # exactly at the boundary: the one after
        (100.0, 250.0, 280.0),  # a session longer than two periods: the next boundary
    ],
)
def test_periodic_calls_start_on_period_boundaries_after_the_previous_call(started, now, expected):
    assert next_period_start(started, now, 60.0) == expected
