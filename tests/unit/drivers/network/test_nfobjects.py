from __future__ import annotations

import errno
import struct

from nnfv_agent.drivers.network.nfobjects import NLMSG_ERROR, parse_acks


def ack(seq: int, code: int, kind: int = NLMSG_ERROR) -> bytes:
    # nlmsghdr, then nlmsgerr: the error and the header of the message it answers
    body = struct.pack("=i", code) + struct.pack("=IHHII", 16, 0, 0, seq, 0)
    return struct.pack("=IHHII", 16 + len(body), kind, 0, seq, 0) + body


def test_parse_acks_gives_each_sequence_number_its_error_code():
    data = ack(3, 0) + ack(4, -errno.ENOENT) + ack(5, -errno.EBUSY)
    assert parse_acks(data) == {3: 0, 4: -errno.ENOENT, 5: -errno.EBUSY}


def test_parse_acks_skips_other_messages_and_stops_at_a_malformed_header():
    other = ack(7, 0, kind=0x10)
    malformed = struct.pack("=IHHII", 4, NLMSG_ERROR, 0, 9, 0)
    assert parse_acks(other + ack(8, 0) + malformed + ack(10, 0)) == {8: 0}
