"""RFC 6242 message framing: end-of-message (base:1.0) and chunked (base:1.1).

Pure byte handling, no I/O: feed bytes in, get whole messages out. A message over the size limit
is skipped to its end and reported as `TooBig`, so the session can answer and keep going.
A message is gathered in one growing buffer whatever the size of the reads or chunks that carry
it, so it costs about its own size in memory (not a Python object per chunk), and each byte is
scanned for a delimiter once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import AgentError, Kind, Scope

EOM = b"]]>]]>"
MAX_CHUNK = 4294967295
_CHUNK_HEADER = re.compile(rb"\n#([1-9][0-9]{0,9})\n")


class FramingError(AgentError):
    """The peer broke the framing; RFC 6242 says to close the session."""

    kind = Kind.MALFORMED_MESSAGE
    scope = Scope.MESSAGE


@dataclass(frozen=True)
class TooBig:
    size: int


def encode(message: bytes, chunked: bool) -> bytes:
    if not chunked:
        return message + EOM
    return b"\n#%d\n%s\n##\n" % (len(message), message)


class FrameReader:
    def __init__(self, max_message: int) -> None:
        self.max_message = max_message
        self.chunked = False
        self._buf = bytearray()
        self._message = bytearray()  # chunked: the data of the chunks read so far
        self._scanned = 0  # end-of-message: bytes of _buf already searched for the delimiter
        self._size = 0
        self._discarding = False
        self._chunk_left = 0

    def feed(self, data: bytes) -> Iterator[bytes | TooBig]:
        self._buf += data
        while True:
            item = self._next_chunked() if self.chunked else self._next_eom()
            if item is None:
                return
            yield item

    # base:1.0 --------------------------------------------------------------------------

    def _next_eom(self) -> bytes | TooBig | None:
        end = self._buf.find(EOM, max(0, self._scanned - (len(EOM) - 1)))
        if end < 0:
            self._scanned = len(self._buf)
            keep = len(EOM) - 1  # a delimiter may straddle two reads
            if len(self._buf) - keep + self._size > self.max_message:
                self._size += max(0, len(self._buf) - keep)
                del self._buf[: max(0, len(self._buf) - keep)]
                self._scanned = len(self._buf)
                self._discarding = True
            return None
        self._scanned = 0
        # Whitespace between messages (some clients send a newline after ]]>]]>) is not
        # part of the next message.
        with memoryview(self._buf) as view:
            message = bytes(view[:end]).lstrip()
        del self._buf[: end + len(EOM)]
        total = self._size + len(message)
        discarding = self._discarding or total > self.max_message
        self._size, self._discarding = 0, False
        if discarding:
            return TooBig(total)
        return message

    # base:1.1 --------------------------------------------------------------------------

    # One loop over the RFC 6242 4.2 grammar (chunk data, end-of-chunks, chunk header): split
    # into functions, the state (_chunk_left, _size, _discarding) would be passed around.
    def _next_chunked(self) -> bytes | TooBig | None:  # noqa: C901
        while True:
            if self._chunk_left:
                take = min(self._chunk_left, len(self._buf))
                if take == 0:
                    return None
                if not self._discarding:
                    self._message += self._buf[:take]
                del self._buf[:take]
                self._chunk_left -= take
                continue
            if len(self._buf) < 4:
                return None
            if self._buf.startswith(b"\n##\n"):
                del self._buf[:4]
                total, discarding = self._size, self._discarding
                message = bytes(self._message)
                self._message = bytearray()
                self._size, self._discarding = 0, False
                if discarding:
                    return TooBig(total)
                if total == 0:
                    raise FramingError("end-of-chunks without any chunk")
                return message
            header = _CHUNK_HEADER.match(self._buf)
            if header is None:
                complete_line = self._buf.find(b"\n", 2) >= 0
                if complete_line or len(self._buf) > 13 or not self._buf.startswith(b"\n#"):
                    raise FramingError("invalid chunk header")
                return None
            size = int(header.group(1))
            if size > MAX_CHUNK:
                raise FramingError("chunk size out of range")
            del self._buf[: header.end()]
            self._chunk_left = size
            self._size += size
            if self._size > self.max_message:
                self._discarding = True
                self._message = bytearray()
