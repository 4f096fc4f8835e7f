"""Netlink messages the agent packs itself, checked by decoding them with pyroute2."""

from __future__ import annotations

import errno
import struct

from nnfv_agent.drivers.network.nlmsg import (
    IFF_UP,
    NFNL_MSG_BATCH_BEGIN,
    NFNL_MSG_BATCH_END,
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_EXCL,
    NLM_F_REQUEST,
    NLMSG_ERROR,
    RTM_NEWLINK,
    new_veth,
    nft_batch_marker,
    nft_delete_counter,
    parse_acks,
)


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


def decode(data: bytes):
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    msg = ifinfmsg(data)
    msg.decode()
    return msg


def test_new_veth_decodes_as_a_veth_pair_whose_own_end_comes_up():
    data = new_veth("lsi0", "eth0", 7, peer_netns_fd=12, peer_address="02:4e:00:00:00:01")
    msg = decode(data)

    assert msg["header"]["length"] == len(data)
    assert msg["header"]["type"] == RTM_NEWLINK and msg["header"]["sequence_number"] == 7
    assert msg["header"]["flags"] == NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    assert msg.get_attr("IFLA_IFNAME") == "lsi0"
    assert msg["flags"] & IFF_UP and msg["change"] & IFF_UP
    info = msg.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "veth"
    peer = info.get_attr("IFLA_INFO_DATA").get_attr("VETH_INFO_PEER")
    assert peer.get_attr("IFLA_IFNAME") == "eth0"
    assert peer.get_attr("IFLA_ADDRESS") == "02:4e:00:00:00:01"
    assert peer.get_attr("IFLA_NET_NS_FD") == 12
    # the kernel refuses to open a veth end before the pair exists
    assert peer["flags"] == peer["change"] == 0


def test_new_veth_without_namespace_or_address_names_neither():
    peer = (
        decode(new_veth("a", "b", 1, peer_netns_fd=None, peer_address=None))
        .get_attr("IFLA_LINKINFO")
        .get_attr("IFLA_INFO_DATA")
        .get_attr("VETH_INFO_PEER")
    )
    assert peer.get_attr("IFLA_IFNAME") == "b"
    assert peer.get_attr("IFLA_NET_NS_FD") is None and peer.get_attr("IFLA_ADDRESS") is None


def nft_message(data: bytes, with_object: bool):
    from pyroute2.netlink.nfnetlink import nfgen_msg

    class obj_msg(nfgen_msg):  # noqa: N801 - pyroute2's naming; NFTA_OBJ_* of nf_tables.h
        nla_map = (
            ("NFTA_OBJ_UNSPEC", "none"),
            ("NFTA_OBJ_TABLE", "asciiz"),
            ("NFTA_OBJ_NAME", "asciiz"),
            ("NFTA_OBJ_TYPE", "be32"),
        )

    msg = (obj_msg if with_object else nfgen_msg)(data)
    msg.decode()
    return msg


def test_nft_batch_markers_decode_as_nftables_batch_begin_and_end():
    for kind in (NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END):
        msg = nft_message(nft_batch_marker(kind, 5), with_object=False)
        assert msg["header"]["type"] == kind and msg["header"]["sequence_number"] == 5
        assert msg["header"]["flags"] == NLM_F_REQUEST
        assert msg["res_id"] == 10  # NFNL_SUBSYS_NFTABLES, big-endian on the wire


def test_nft_delete_counter_decodes_as_delobj_of_a_named_netdev_counter():
    data = nft_delete_counter("nnfv_x", "c_g0_1", 6)
    msg = nft_message(data, with_object=True)
    assert msg["header"]["length"] == len(data)
    assert msg["header"]["type"] == (10 << 8) | 20  # NFNL_SUBSYS_NFTABLES, NFT_MSG_DELOBJ
    assert msg["header"]["flags"] == NLM_F_REQUEST | NLM_F_ACK
    assert msg["nfgen_family"] == 5  # NFPROTO_NETDEV
    assert msg.get_attr("NFTA_OBJ_TABLE") == "nnfv_x"
    assert msg.get_attr("NFTA_OBJ_NAME") == "c_g0_1"
    assert msg.get_attr("NFTA_OBJ_TYPE") == 1  # NFT_OBJECT_COUNTER
