"""The few netlink messages the agent encodes itself, and the exchange that reads their acks.

pyroute2 builds a message from nested Python objects: for a veth pair that is about 0.3 ms of
Python, as much as the kernel's own work, twice per NF start. Importing its message classes at
start-up would also load the whole of pyroute2 (see netlink.py). The messages here have a fixed
shape, so they are packed with `struct` directly (pure functions); `exchange` is the one
function here that does I/O.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Collection

HEADER = struct.Struct("=IHHII")  # struct nlmsghdr: length, type, flags, sequence, port id
_ERRNO = struct.Struct("=i")  # struct nlmsgerr's error, right after the header
_ATTR = struct.Struct("=HH")  # struct nlattr: length, type
_IFINFO = struct.Struct("=BxHiII")  # struct ifinfomsg: family, type, index, flags, change
_NFGEN = struct.Struct("!BBH")  # struct nfgenmsg: family, version, res_id (big-endian)

NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400

RTM_NEWLINK = 16
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_LINKINFO = 18
IFLA_NET_NS_FD = 28
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
VETH_INFO_PEER = 1
IFF_UP = 0x1

NFNL_SUBSYS_NFTABLES = 10
NFNL_MSG_BATCH_BEGIN = 0x10
NFNL_MSG_BATCH_END = 0x11
NFT_MSG_DELOBJ = 20
NFTA_OBJ_TABLE = 1
NFTA_OBJ_NAME = 2
NFTA_OBJ_TYPE = 3
NFT_OBJECT_COUNTER = 1
NFPROTO_NETDEV = 5


def attr(kind: int, payload: bytes) -> bytes:
    """One attribute, padded to 4 bytes."""
    length = _ATTR.size + len(payload)
    return _ATTR.pack(length, kind) + payload + b"\0" * (-length % 4)


def message(kind: int, flags: int, seq: int, body: bytes) -> bytes:
    return HEADER.pack(HEADER.size + len(body), kind, flags, seq, 0) + body


def parse_acks(data: bytes) -> dict[int, int]:
    """The error code (0: done, else a negative errno) of each acknowledged sequence number."""
    acks: dict[int, int] = {}
    offset = 0
    while offset + HEADER.size <= len(data):
        length, kind, _flags, seq, _pid = HEADER.unpack_from(data, offset)
        if length < HEADER.size:
            break  # malformed: nothing after it can be trusted
        if kind == NLMSG_ERROR and length >= HEADER.size + _ERRNO.size:
            acks[seq] = _ERRNO.unpack_from(data, offset + HEADER.size)[0]
        offset += (length + 3) & ~3
    return acks


def exchange(sock: socket.socket, data: bytes, seqs: Collection[int]) -> dict[int, int]:
    """Send `data` on netlink socket `sock`, then read until each of `seqs` is acknowledged:
    its error code (0, or a negative errno). OSError if the socket fails or times out."""
    sock.sendall(data)
    acks: dict[int, int] = {}
    while not acks.keys() >= set(seqs):
        acks.update(parse_acks(sock.recv(65536)))
    return {seq: acks[seq] for seq in seqs}


def _asciiz(kind: int, text: str) -> bytes:
    return attr(kind, text.encode() + b"\0")


def _ifname(name: str) -> bytes:
    return _asciiz(IFLA_IFNAME, name)


def new_veth(
    name: str, peer: str, seq: int, *, peer_netns_fd: int | None, peer_address: str | None
) -> bytes:
    """RTM_NEWLINK creating veth `name` (up) with `peer` (down), optionally in another namespace.

    The peer cannot be brought up in the same message: the kernel opens it before the two ends
    are paired, and a veth without its peer refuses to open (ENOTCONN)."""
    peer_attrs = _ifname(peer)
    if peer_address:
        peer_attrs += attr(IFLA_ADDRESS, bytes.fromhex(peer_address.replace(":", "")))
    if peer_netns_fd is not None:
        peer_attrs += attr(IFLA_NET_NS_FD, struct.pack("=I", peer_netns_fd))
    info = attr(IFLA_INFO_KIND, b"veth\0") + attr(
        IFLA_INFO_DATA,
        attr(VETH_INFO_PEER, _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + peer_attrs),
    )
    body = (
        _IFINFO.pack(socket.AF_UNSPEC, 0, 0, IFF_UP, IFF_UP)
        + _ifname(name)
        + attr(IFLA_LINKINFO, info)
    )
    flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    return message(RTM_NEWLINK, flags, seq, body)


def nft_batch_marker(kind: int, seq: int) -> bytes:
    """NFNL_MSG_BATCH_BEGIN or _END of an nf_tables transaction."""
    return message(kind, NLM_F_REQUEST, seq, _NFGEN.pack(socket.AF_UNSPEC, 0, NFNL_SUBSYS_NFTABLES))


def nft_delete_counter(table: str, name: str, seq: int) -> bytes:
    """NFT_MSG_DELOBJ of named counter `name` in netdev table `table`."""
    body = (
        _NFGEN.pack(NFPROTO_NETDEV, 0, 0)
        + _asciiz(NFTA_OBJ_TABLE, table)
        + _asciiz(NFTA_OBJ_NAME, name)
        + attr(NFTA_OBJ_TYPE, struct.pack("!I", NFT_OBJECT_COUNTER))
    )
    kind = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELOBJ
    return message(kind, NLM_F_REQUEST | NLM_F_ACK, seq, body)
