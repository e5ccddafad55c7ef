"""The shared tier's byte format: what we wrote comes back; anything else is refused
before pickle sees it."""

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cache_mgr import codec

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.binary(),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)


@given(values)
def test_codec_round_trips_any_value(value):
    assert codec.loads(codec.dumps(value)) == value


def test_codec_compresses_large_values(settings):
    settings.CACHE_COMPRESS_MIN_BYTES = 64
    value = {"rows": ["the same words again"] * 200}
    blob = codec.dumps(value)
    assert blob[2] & codec.ZSTD
    assert len(blob) < len(pickle.dumps(value)) / 3
    assert codec.loads(blob) == value


@given(st.binary(min_size=1, max_size=64), st.integers(min_value=0, max_value=10_000))
def test_codec_refuses_any_altered_byte(noise, position):
    blob = bytearray(codec.dumps({"tenant": "alpha", "rows": list(range(20))}))
    i = position % len(blob)
    blob[i] ^= noise[0] or 1
    with pytest.raises(codec.TamperedValue):
        codec.loads(bytes(blob))


def test_codec_refuses_a_plain_pickle_without_unpickling_it():
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    with pytest.raises(codec.TamperedValue):
        codec.loads(pickle.dumps(Boom()))
    with pytest.raises(codec.TamperedValue):
        codec.loads(b"C1" + bytes([0]) + b"\0" * 32 + pickle.dumps(Boom()))


def test_codec_refuses_blobs_signed_with_another_secret(settings):
    blob = codec.dumps("value")
    settings.SECRET_KEY = "another deployment's secret " * 2
    codec.reset()
    with pytest.raises(codec.TamperedValue):
        codec.loads(blob)
