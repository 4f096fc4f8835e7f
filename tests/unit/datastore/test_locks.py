"""RFC 6241 section 7.5 global locks: one holder per datastore, and what others are told."""

from __future__ import annotations

import pytest

from nnfv_agent.datastore.locks import LockTable
from nnfv_agent.errors import AgentError, Kind, Scope


@pytest.fixture
def locks() -> LockTable:
    return LockTable()


def test_unlocked_datastore_has_no_holder_and_is_writable_by_anyone(locks: LockTable) -> None:
    assert locks.holder("running") is None
    locks.check_writable("running", 1)
    locks.check_writable("running", 2)


def test_lock_makes_the_session_the_holder(locks: LockTable) -> None:
    locks.acquire("running", 3)
    assert locks.holder("running") == 3


def test_second_session_is_denied_the_lock_and_told_who_holds_it(locks: LockTable) -> None:
    locks.acquire("running", 3)
    with pytest.raises(AgentError) as err:
        locks.acquire("running", 4)
    assert (err.value.kind, err.value.scope) == (Kind.LOCK_DENIED, Scope.REQUEST)
    assert err.value.info == {"session-id": "3"}
    assert "session 3" in err.value.message
    assert locks.holder("running") == 3


def test_holder_locking_again_is_denied_naming_itself(locks: LockTable) -> None:
    locks.acquire("candidate", 3)
    with pytest.raises(AgentError) as err:
        locks.acquire("candidate", 3)
    assert err.value.kind is Kind.LOCK_DENIED
    assert err.value.info == {"session-id": "3"}
    assert "this session" in err.value.message


def test_each_datastore_has_its_own_lock(locks: LockTable) -> None:
    locks.acquire("running", 1)
    locks.acquire("candidate", 2)
    locks.acquire("startup", 1)
    assert [locks.holder(d) for d in ("running", "candidate", "startup")] == [1, 2, 1]


def test_unlock_by_the_holder_frees_the_datastore_for_others(locks: LockTable) -> None:
    locks.acquire("running", 1)
    locks.release("running", 1)
    assert locks.holder("running") is None
    locks.acquire("running", 2)
    assert locks.holder("running") == 2


def test_unlock_by_another_session_fails_and_the_lock_stays(locks: LockTable) -> None:
    locks.acquire("running", 1)
    with pytest.raises(AgentError) as err:
        locks.release("running", 2)
    assert (err.value.kind, err.value.scope) == (Kind.OPERATION_FAILED, Scope.REQUEST)
    assert err.value.info == {"session-id": "1"}
    assert "held by session 1" in err.value.message
    assert locks.holder("running") == 1


def test_unlock_of_an_unlocked_datastore_fails_naming_nobody(locks: LockTable) -> None:
    with pytest.raises(AgentError) as err:
        locks.release("running", 1)
    assert err.value.kind is Kind.OPERATION_FAILED
    assert err.value.info == {"session-id": "0"}
    assert "held by nobody" in err.value.message


def test_release_all_frees_only_that_sessions_locks_and_says_which(locks: LockTable) -> None:
    locks.acquire("running", 1)
    locks.acquire("candidate", 2)
    locks.acquire("startup", 1)
    assert sorted(locks.release_all(1)) == ["running", "startup"]
    assert [locks.holder(d) for d in ("running", "candidate", "startup")] == [None, 2, None]
    assert locks.release_all(1) == []


def test_locked_datastore_is_writable_by_its_holder_only(locks: LockTable) -> None:
    locks.acquire("running", 1)
    locks.check_writable("running", 1)
    locks.check_writable("candidate", 2)  # another datastore is not affected
    with pytest.raises(AgentError) as err:
        locks.check_writable("running", 2)
    assert (err.value.kind, err.value.scope) == (Kind.IN_USE, Scope.REQUEST)
    assert err.value.info == {"session-id": "1"}
    assert "locked by session 1" in err.value.message
