"""Corrupt containers: every case is one ContainerError, never another exception or a big allocation."""

import json
import os
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from container_fixtures import sample_records
from test_container import rewrite_header
from todlm.format.container import HEADER, Container, ContainerError
from todlm.format.container_writer import write_container

# Bounded for CI; TODLM_FUZZ_EXAMPLES=20000 for a long local run.
FUZZ = settings(max_examples=int(os.environ.get("TODLM_FUZZ_EXAMPLES", 300)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def blob(tmp_path_factory):
    return write_container(tmp_path_factory.mktemp("fuzz") / "f.tlm", sample_records()).read_bytes()


def open_everything(data: bytes) -> None:
    with Container.open(data) as c:
        c.verify()
        for lm in c.lightmaps:
            for name in lm.sections:
                lm.dequantized(name)


def test_truncated_at_every_byte(blob, tmp_path):
    for n in range(len(blob)):
        with pytest.raises(ContainerError):
            open_everything(blob[:n])
    for n in (0, 10, HEADER.size, len(blob) // 2, len(blob) - 1):
        (tmp_path / "cut.tlm").write_bytes(blob[:n])
        with pytest.raises(ContainerError, match="cut.tlm"):
            Container.open(tmp_path / "cut.tlm")


def decoded(data: bytes) -> dict:
    with Container.open(data) as c:
        c.verify()
        return {(lm.level, lm.id, n): lm.dequantized(n).copy() for lm in c.lightmaps for n in lm.sections}


def test_every_single_bit_flip_is_caught_or_harmless(blob):
    """A flip is an error unless it decodes to exactly the same tensors (an ignored bit of a
    zstd frame header, say): the checksums guard the values, which never come back wrong."""
    original = decoded(blob)
    data = bytearray(blob)
    harmless = 0
    for i in range(len(data)):
        for bit in range(8):
            data[i] ^= 1 << bit
            try:
                got = decoded(bytes(data))
            except ContainerError:
                pass
            else:
                harmless += 1
                assert got.keys() == original.keys()
                assert all((got[k] == original[k]).all() for k in got), f"byte {i} bit {bit} changed a value"
            data[i] ^= 1 << bit
    assert harmless < 8  # only a few ignored bits of the zstd streams


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(1 << 70), 1 << 70) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10)
SECTION_FIELDS = ["dtype", "shape", "codec", "offset", "length", "crc32", "quant", "level"]
LIGHTMAP_FIELDS = ["level", "id", "width", "height", "times", "metadata", "sections"]


def with_toc(blob: bytes, toc: dict) -> bytes:
    """Replace the TOC, keep the data bytes, and make the header consistent again."""
    toc_len = HEADER.unpack_from(blob)[4]
    data = blob[(HEADER.size + toc_len + 63) // 64 * 64:]
    new = json.dumps(toc).encode()
    body = blob[:HEADER.size] + new
    body += b"\0" * (-len(body) % 64) + data
    return rewrite_header(body, toc_len=len(new), file_len=len(body))


def check_bounded(data: bytes) -> None:
    tracemalloc.start()
    try:
        open_everything(data)
    except ContainerError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 20 * len(data) + 1_000_000


@FUZZ
@given(st.data())
def test_lying_table_of_contents(blob, data):
    toc = json.loads(blob[HEADER.size:HEADER.size + HEADER.unpack_from(blob)[4]])
    lm = toc["lightmaps"][data.draw(st.integers(0, 1))]
    if data.draw(st.booleans()):
        section = lm["sections"][data.draw(st.sampled_from(sorted(lm["sections"])))]
        section[data.draw(st.sampled_from(SECTION_FIELDS))] = data.draw(JSON_VALUES)
    else:
        lm[data.draw(st.sampled_from(LIGHTMAP_FIELDS))] = data.draw(JSON_VALUES)
    check_bounded(with_toc(blob, toc))


@FUZZ
@given(offset=st.integers(0, 1 << 62), length=st.integers(0, 1 << 62),
       shape=st.lists(st.integers(0, 1 << 45), max_size=9))
def test_lying_offsets_lengths_and_huge_shapes(blob, offset, length, shape):
    toc = json.loads(blob[HEADER.size:HEADER.size + HEADER.unpack_from(blob)[4]])
    toc["lightmaps"][0]["sections"]["grid0"].update(offset=offset, length=length, shape=shape)
    check_bounded(with_toc(blob, toc))


@FUZZ
@given(st.binary(max_size=300))
def test_bad_json_in_a_well_formed_header(blob, junk):
    body = blob[:HEADER.size] + junk
    body += b"\0" * (-len(body) % 64)
    with pytest.raises(ContainerError):
        open_everything(rewrite_header(body, toc_len=len(junk), file_len=len(body)))


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes(junk):
    with pytest.raises(ContainerError):
        open_everything(junk)
