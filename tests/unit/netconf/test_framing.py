import pytest

from nnfv_agent.netconf.framing import FrameReader, FramingError, TooBig, encode


def feed_all(reader: FrameReader, data: bytes, step: int = 0) -> list:
    if not step:
        return list(reader.feed(data))
    out = []
    for i in range(0, len(data), step):
        out.extend(reader.feed(data[i : i + step]))
    return out


def test_eom_messages_are_split_on_the_delimiter():
    reader = FrameReader(1000)
    assert feed_all(reader, b"<a/>]]>]]><b/>]]>]]>") == [b"<a/>", b"<b/>"]


@pytest.mark.parametrize("step", [1, 2, 3, 7])
def test_eom_delimiter_split_across_reads_is_found(step):
    reader = FrameReader(1000)
    assert feed_all(reader, b"<hello/>]]>]]><rpc/>]]>]]>", step) == [b"<hello/>", b"<rpc/>"]


@pytest.mark.parametrize("step", [0, 1, 5])
def test_chunked_message_is_reassembled_from_chunks(step):
    reader = FrameReader(1000)
    reader.chunked = True
    parts = [b"<rpc", b" message-id='1'", b"/>"]
    data = b"".join(b"\n#%d\n%s" % (len(p), p) for p in parts) + b"\n##\n"
    assert feed_all(reader, data, step) == [b"<rpc message-id='1'/>"]


def test_encode_round_trips_in_both_framings():
    for chunked in (False, True):
        reader = FrameReader(1000)
        reader.chunked = chunked
        assert list(reader.feed(encode(b"<x/>", chunked) * 2)) == [b"<x/>", b"<x/>"]


def test_oversized_eom_message_is_skipped_and_reported_then_next_message_parses():
    reader = FrameReader(100)
    out = feed_all(reader, b"x" * 500 + b"]]>]]><ok/>]]>]]>", 64)
    assert isinstance(out[0], TooBig) and out[0].size >= 500
    assert out[1] == b"<ok/>"


def test_oversized_chunked_message_is_skipped_and_reported_then_next_message_parses():
    reader = FrameReader(100)
    reader.chunked = True
    big = b"\n#300\n" + b"y" * 300 + b"\n##\n"
    out = feed_all(reader, big + encode(b"<ok/>", True), 50)
    assert out == [TooBig(300), b"<ok/>"]


@pytest.mark.parametrize("bad", [b"\n#0\nx\n##\n", b"\n#abc\n", b"garbage here!!!", b"\n##\n"])
def test_broken_chunk_framing_raises_framing_error(bad):
    reader = FrameReader(1000)
    reader.chunked = True
    with pytest.raises(FramingError):
        list(reader.feed(bad))


def _peak_while(work) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_chunked_message_in_one_byte_chunks_costs_about_its_size_in_memory():
    size = 200_000
    body = b"<rpc>" + b"x" * (size - 11) + b"</rpc>"
    framed = b"".join(b"\n#1\n%c" % byte for byte in body) + b"\n##\n"
    reader = FrameReader(size * 2)
    reader.chunked = True
    out = []

    def feed() -> None:
        for i in range(0, len(framed), 65536):  # what one channel read can return
            out.extend(reader.feed(framed[i : i + 65536]))

    peak = _peak_while(feed)
    assert out == [body]
    assert peak < 4 * size


def test_eom_message_in_one_byte_reads_costs_about_its_size_in_memory():
    size = 50_000
    body = b"<rpc>" + b"x" * (size - 11) + b"</rpc>"
    reader = FrameReader(size * 2)
    out = []

    def feed() -> None:
        for i in range(len(body)):
            out.extend(reader.feed(body[i : i + 1]))
        out.extend(reader.feed(b"]]>]]>"))

    peak = _peak_while(feed)
    assert out == [body]
    assert peak < 4 * size
