"""The restart policy's arithmetic: delays with backoff, the maximum count and the reset period."""

from __future__ import annotations

import pytest

from nnfv_agent.node.restart import RestartCounter, RestartPolicy

POLICY = RestartPolicy(
    min_interval=2.0, max_interval=30.0, multiplier=3.0, max_restarts=4, reset_time=100.0
)


def test_delay_starts_at_the_minimum_and_grows_by_the_multiplier_up_to_the_maximum():
    assert [POLICY.delay(n) for n in range(1, 6)] == [2.0, 6.0, 18.0, 30.0, 30.0]


def test_delay_of_a_huge_attempt_number_is_the_maximum_without_overflow():
    assert POLICY.delay(10_000) == 30.0


def test_delay_counts_attempts_from_one():
    with pytest.raises(ValueError):
        POLICY.delay(0)


def test_multiplier_of_one_keeps_the_minimum_interval():
    policy = RestartPolicy(min_interval=5.0, max_interval=60.0, multiplier=1.0)
    assert {policy.delay(n) for n in range(1, 10)} == {5.0}


def test_failures_get_growing_delays_until_the_maximum_count_then_none():
    counter = RestartCounter(POLICY)
    delays = [counter.failed(now=float(t)) for t in range(6)]
    assert delays == [2.0, 6.0, 18.0, 30.0, None, None]
    assert counter.count == 4 and counter.exhausted


def test_a_healthy_reset_period_starts_the_count_again():
    counter = RestartCounter(POLICY)
    assert counter.failed(0.0) == 2.0
    assert counter.failed(3.0) == 6.0
    counter.healthy(10.0)  # restarted and healthy from t=10
    counter.healthy(50.0)
    assert counter.failed(60.0) == 18.0, "50 s of health is less than the reset period"
    counter.healthy(70.0)
    counter.healthy(170.0)  # 100 s healthy: reset
    assert counter.count == 0
    assert counter.failed(171.0) == 2.0


def test_a_failure_after_a_long_unobserved_healthy_run_also_resets():
    counter = RestartCounter(POLICY)
    for t in range(4):
        counter.failed(float(t))
    counter.healthy(10.0)
    assert counter.failed(500.0) == 2.0, "healthy since t=10, failing at t=500: count reset"


def test_unlimited_restarts_when_the_maximum_count_is_zero():
    counter = RestartCounter(RestartPolicy(max_restarts=0, max_interval=5.0))
    delays = [counter.failed(float(t)) for t in range(10, 200)]
    assert delays[:3] == [2.0, 4.0, 5.0] and set(delays[2:]) == {5.0}
    assert not counter.exhausted


def test_auto_restart_off_never_restarts():
    counter = RestartCounter(RestartPolicy(auto_restart=False))
    assert counter.failed(0.0) is None
    assert counter.exhausted


def test_template_then_nf_leaves_override_the_defaults_leaf_by_leaf():
    template = (("max-restarts", "5"), ("retry-minimum-wait-interval", "0.500"))
    nf = (("max-restarts", "2"), ("auto-restart", "true"))
    policy = RestartPolicy().overridden(template).overridden(nf)
    assert policy.max_restarts == 2
    assert policy.min_interval == 0.5
    assert policy.max_interval == RestartPolicy().max_interval
    assert RestartPolicy().overridden((("auto-restart", "false"),)).auto_restart is False


def test_no_leaves_keep_the_same_policy():
    assert RestartPolicy().overridden(()) is not None
    assert RestartPolicy().overridden(()) == RestartPolicy()
