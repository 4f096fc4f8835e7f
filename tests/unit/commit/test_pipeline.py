import pytest

from nnfv_agent.commit.pipeline import CommitPipeline, Operation, Plan, PlanFailed
from nnfv_agent.drivers.compute.scripts import ScriptError
from nnfv_agent.errors import Kind


def test_failed_step_undoes_completed_steps_in_reverse_order():
    log = []

    def op(name, fail=False):
        def do():
            if fail:
                raise RuntimeError(f"{name} broke")
            log.append(f"do {name}")

        return Operation(name, "x", do, lambda: log.append(f"undo {name}"))

    plan = Plan([], [op("createLSI"), op("createPort"), op("startNF", fail=True), op("never")])
    with pytest.raises(PlanFailed) as err:
        CommitPipeline().execute(plan)
    assert log == ["do createLSI", "do createPort", "undo createPort", "undo createLSI"]
    assert "startNF x failed: startNF broke" in str(err.value)
    assert err.value.rollback_errors == []


def test_undo_failures_are_reported_not_swallowed():
    def boom():
        raise OSError("busy")

    plan = Plan(
        [],
        [
            Operation("createPort", "p1", lambda: None, boom),
            Operation("startNF", "fw", lambda: 1 / 0),
        ],
    )
    with pytest.raises(PlanFailed) as err:
        CommitPipeline().execute(plan)
    assert err.value.rollback_errors == ["createPort p1: busy"]


def test_failed_step_carries_the_drivers_kind_and_app_tag():
    def fail_script():
        raise ScriptError("start script of NF fw exited with 3")

    plan = Plan([], [Operation("startNF", "fw", fail_script)])
    with pytest.raises(PlanFailed) as err:
        CommitPipeline().execute(plan)
    assert err.value.kind == Kind.OPERATION_FAILED
    assert err.value.app_tag == "nf-script-failed"


def test_failed_step_outside_the_family_is_a_plain_operation_failure():
    plan = Plan([], [Operation("startNF", "fw", lambda: 1 / 0)])
    with pytest.raises(PlanFailed) as err:
        CommitPipeline().execute(plan)
    assert (err.value.kind, err.value.app_tag) == (Kind.OPERATION_FAILED, None)
