"""Event delivery: the publisher never waits for a subscriber, and subscribers are independent."""

from __future__ import annotations

import threading

import pytest
from lxml import etree

from nnfv_agent.netconf.dispatch import Counters, Dispatcher
from nnfv_agent.netconf.errors import RpcError
from nnfv_agent.netconf.notifications import NOTIF, EventLog

EVENT = '<change xmlns="urn:t"><n>{}</n></change>'


class FakeSession:
    def __init__(self, session_id: int, dispatcher: Dispatcher, *, stuck: bool = False) -> None:
        self.id = session_id
        self.dispatcher = dispatcher
        self.counters = Counters()
        self.after_reply: list = []
        self.closing = False
        self.sent: list[bytes] = []
        self.unblock = threading.Event()
        self.stuck = stuck
        self.got = threading.Condition()

    def send(self, message: bytes) -> None:
        if self.stuck:
            self.unblock.wait(30)  # a peer that never opens its window
            raise OSError("channel closed")
        with self.got:
            self.sent.append(message)
            self.got.notify_all()

    def alive(self) -> bool:
        return not self.closing

    def wait_for(self, count: int) -> bool:
        with self.got:
            return self.got.wait_for(lambda: len(self.sent) >= count, timeout=10)


def _subscribe(log: EventLog, session: FakeSession, filter_xml: str = "") -> None:
    op = etree.fromstring(
        f'<create-subscription xmlns="{NOTIF}">{filter_xml}</create-subscription>'
    )
    log.create_subscription(session, op)
    for hook in session.after_reply:
        hook()


def _events(log: EventLog, count: int, paced_by: FakeSession | None = None) -> None:
    for i in range(count):
        log.publish(EVENT.format(i))
        if paced_by is not None:
            paced_by.wait_for(i + 1)  # a subscriber that keeps up


def test_publish_returns_while_a_subscriber_blocks_and_the_subscriber_is_dropped():
    dispatcher = Dispatcher(lambda: [])
    dropped = []
    log = EventLog(dispatcher, lambda el: (), queue_size=3, drop=lambda s, why: dropped.append(s))
    stuck, good = FakeSession(1, dispatcher, stuck=True), FakeSession(2, dispatcher)
    _subscribe(log, stuck)
    _subscribe(log, good)
    publisher = threading.Thread(target=_events, args=(log, 20, good))
    publisher.start()
    publisher.join(10)
    try:
        assert not publisher.is_alive(), "publish waited for a subscriber"
        assert dropped == [stuck]
        assert 1 not in log.subscriptions and 2 in log.subscriptions
        assert good.wait_for(20)
    finally:
        stuck.unblock.set()


def test_create_subscription_with_a_bad_xpath_is_refused_and_others_still_receive():
    dispatcher = Dispatcher(lambda: [])
    log = EventLog(dispatcher, lambda el: ())
    bad, good = FakeSession(1, dispatcher), FakeSession(2, dispatcher)
    with pytest.raises(RpcError) as refused:
        _subscribe(log, bad, f'<filter xmlns="{NOTIF}" type="xpath" select="///["/>')
    assert refused.value.tag == "invalid-value"
    assert 1 not in log.subscriptions
    _subscribe(log, good)
    _events(log, 2)
    assert good.wait_for(2)


def test_a_filter_that_fails_on_an_event_skips_it_for_that_subscriber_only():
    dispatcher = Dispatcher(lambda: [])
    log = EventLog(dispatcher, lambda el: ())
    picky, everything = FakeSession(1, dispatcher), FakeSession(2, dispatcher)
    _subscribe(log, picky, f'<filter xmlns="{NOTIF}" type="xpath" select="/*"/>')
    _subscribe(log, everything)

    def failing(event: object) -> bool:
        raise ValueError("a filter that fails on this event")

    log.subscriptions[1].wants = failing  # type: ignore[method-assign]
    _events(log, 3)
    assert everything.wait_for(3)
    assert picky.sent == []


def test_xpath_filter_selects_only_matching_events():
    dispatcher = Dispatcher(lambda: [])
    log = EventLog(dispatcher, lambda el: ())
    session = FakeSession(1, dispatcher)
    _subscribe(
        log,
        session,
        f'<filter xmlns="{NOTIF}" xmlns:t="urn:t" type="xpath" select="/t:change[t:n=2]"/>',
    )
    _events(log, 4)
    log.publish('<change xmlns="urn:t"><n>2</n></change>')
    assert session.wait_for(2)
    assert all(b"<n>2</n>" in m for m in session.sent)
