"""Event delivery against hostile subscribers: one that stops reading, one with a bad filter."""

from __future__ import annotations

from lxml import etree

from support.clients import RawClient
from support.hostile import (
    NCN,
    NOTIF,
    edit_description,
    log_has,
    next_notification,
    subscribe,
)
from support.replies import assert_ok, data_of, field, info, the_error

GET_CONFIG = "<get-config><source><running/></source></get-config>"
# Commits the test may make while waiting for the slow subscriber to be dropped: the SSH window
# (16 KiB) holds a few dozen notifications, the agent's queue (8) a few more.
MAX_COMMITS = 200


def test_subscriber_that_stops_reading_is_dropped_and_other_sessions_keep_working(agent_factory):
    agent = agent_factory(notification_queue=8)
    writer, reader, polite = RawClient(agent), RawClient(agent), RawClient(agent)
    slow = RawClient(agent, window_size=16384)
    try:
        assert_ok(subscribe(polite))
        assert_ok(subscribe(slow))  # and from here on, never reads again
        dropped = False
        commits = 0
        while not dropped and commits < MAX_COMMITS:
            # Before the fix, one of these blocked for good in the event publisher.
            assert_ok(edit_description(writer, "g", f"change {commits}"))
            commits += 1
            dropped = "dropped its notification subscription" in agent.log.read_text()
        assert dropped, f"the slow subscriber was not dropped after {commits} commits"
        assert_ok(edit_description(writer, "g", "after the drop"))
        # Another session reads the configuration, and the polite subscriber saw every commit.
        data = data_of(reader.rpc(GET_CONFIG))
        assert "after the drop" in etree.tostring(data, encoding="unicode")
        received = 0
        while received < commits + 1:
            if next_notification(polite).find(f"{{{NCN}}}netconf-config-change") is not None:
                received += 1
        assert log_has(agent.log, "closing the session")
    finally:
        for client in (writer, reader, polite, slow):
            client.close()
    fresh = RawClient(agent)
    try:
        data_of(fresh.rpc(GET_CONFIG))
    finally:
        fresh.close()


def test_create_subscription_with_an_invalid_xpath_filter_returns_invalid_value(agent):
    bad, good, writer = RawClient(agent), RawClient(agent), RawClient(agent)
    try:
        err = the_error(subscribe(bad, f'<filter xmlns="{NOTIF}" type="xpath" select="///["/>'))
        assert field(err, "error-tag") == "invalid-value"
        assert info(err, "bad-attribute") == "select"
        assert "invalid XPath filter" in field(err, "error-message")
        assert_ok(subscribe(good))
        assert_ok(edit_description(writer, "g", "seen by the good subscriber"))
        note = next_notification(good)
        assert note.find(f"{{{NCN}}}netconf-config-change") is not None
    finally:
        for client in (bad, good, writer):
            client.close()
    assert "commit observer failed" not in agent.log.read_text()


def test_create_subscription_with_a_regular_expression_filter_is_refused(agent):
    raw = RawClient(agent)
    try:
        filt = (
            f'<filter xmlns="{NOTIF}" xmlns:re="http://exslt.org/regular-expressions" '
            'type="xpath" select="//*[re:test(., \'^(a+)+$\')]"/>'
        )
        err = the_error(subscribe(raw, filt))
        assert field(err, "error-tag") == "invalid-value"
        assert "Unregistered function" in field(err, "error-message")
    finally:
        raw.close()


def test_create_subscription_with_an_unknown_filter_type_returns_bad_attribute(agent):
    raw = RawClient(agent)
    try:
        err = the_error(subscribe(raw, f'<filter xmlns="{NOTIF}" type="regex"/>'))
        assert field(err, "error-tag") == "bad-attribute"
        assert info(err, "bad-attribute") == "type"
    finally:
        raw.close()


def test_session_start_and_end_are_notified_with_the_termination_reason(agent):
    watcher = RawClient(agent)
    try:
        assert_ok(subscribe(watcher))
        other = RawClient(agent)
        other_id = etree.fromstring(other.server_hello.encode()).findtext(
            "{urn:ietf:params:xml:ns:netconf:base:1.0}session-id"
        )
        assert_ok(other.rpc("<close-session/>"))
        other.close()
        start = next_notification(watcher).find(f"{{{NCN}}}netconf-session-start")
        assert start is not None
        assert start.findtext(f"{{{NCN}}}session-id") == other_id
        assert start.findtext(f"{{{NCN}}}username") == "admin"
        assert start.findtext(f"{{{NCN}}}source-host") == "127.0.0.1"
        end = next_notification(watcher).find(f"{{{NCN}}}netconf-session-end")
        assert end is not None
        assert end.findtext(f"{{{NCN}}}session-id") == other_id
        assert end.findtext(f"{{{NCN}}}termination-reason") == "closed"
    finally:
        watcher.close()


def test_killed_session_end_names_its_killer(agent):
    watcher, victim, killer = RawClient(agent), RawClient(agent), RawClient(agent)
    try:
        assert_ok(subscribe(watcher))
        victim_id = etree.fromstring(victim.server_hello.encode()).findtext(
            "{urn:ietf:params:xml:ns:netconf:base:1.0}session-id"
        )
        killer_id = etree.fromstring(killer.server_hello.encode()).findtext(
            "{urn:ietf:params:xml:ns:netconf:base:1.0}session-id"
        )
        assert_ok(killer.rpc(f"<kill-session><session-id>{victim_id}</session-id></kill-session>"))
        for _ in range(5):
            end = next_notification(watcher).find(f"{{{NCN}}}netconf-session-end")
            if end is not None:
                break
        assert end is not None
        assert end.findtext(f"{{{NCN}}}session-id") == victim_id
        assert end.findtext(f"{{{NCN}}}termination-reason") == "killed"
        assert end.findtext(f"{{{NCN}}}killed-by") == killer_id
    finally:
        for client in (watcher, victim, killer):
            client.close()


def test_costly_subscription_filter_is_stopped_and_others_still_receive(agent_factory):
    agent = agent_factory(xpath_timeout=1)
    costly, good, writer = RawClient(agent), RawClient(agent), RawClient(agent)
    try:
        # Ten nested scans of every node: hours even on one small notification.
        select = "//*" + "[count(//*" * 10 + ") > 0]" * 10
        assert_ok(subscribe(costly, f'<filter xmlns="{NOTIF}" type="xpath" select="{select}"/>'))
        assert_ok(subscribe(good))
        # Before the fix the publisher evaluated this filter itself, under the commit's lock.
        assert_ok(edit_description(writer, "g", "first"))
        assert_ok(edit_description(writer, "g", "second"))
        changes = 0
        while changes < 2:
            if next_notification(good).find(f"{{{NCN}}}netconf-config-change") is not None:
                changes += 1
        assert log_has(agent.log, "notification filter failed")
        data_of(writer.rpc(GET_CONFIG))
    finally:
        for client in (costly, good, writer):
            client.close()
