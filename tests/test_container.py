import json
import tracemalloc

import numpy as np
import pytest

from conftest import run_cli
from container_fixtures import sample_records
from spec_reader import read_tlm
from todlm.format.container import HEADER, Container, ContainerError, header_crc
from todlm.format.container_writer import LightmapRecord, Tensor, write_container
from todlm.format.dtypes import from_bytes
from todlm.format.errors import FormatError
from todlm.format.quant import calibrate
from todlm.format.unpacked import pack, repack_raw, unpack


@pytest.fixture
def tlm(tmp_path):
    return write_container(tmp_path / "a.tlm", sample_records(), metadata={"level_name": "court"},
                           extra={"future_top": True})


def test_library_and_spec_reader_agree(tlm):
    spec = read_tlm(tlm.read_bytes())
    with Container.open(tlm) as c:
        c.verify()
        assert spec["toc"] == c.toc and spec["version"] == c.version == (1, 0)
        for lm in c.lightmaps:
            for name in lm.sections:
                np.testing.assert_array_equal(lm.dequantized(name), spec["tensors"][(lm.level, lm.id)][name])


def test_round_trip_values_and_unknown_keys(tlm):
    records = sample_records()
    with Container.open(tlm) as c:
        lm = c.lightmap("L_Court", 0)
        assert lm.times == [0.0, 5.9, 6.0, 18.1] and (lm.width, lm.height) == (64, 32)
        np.testing.assert_array_equal(lm.array("grid0"), records[0].tensors["grid0"].array)
        assert lm.entry["future_key"] == [1, 2] and lm.sections["grid1"].entry["note"] == "kept"
        assert c.toc["future_top"] is True and c.metadata == {"level_name": "court"}
        raw = lm.array("grid1")
        assert not raw.flags.writeable and not raw.flags.owndata  # zero-copy view of the file
        with pytest.raises(ContainerError, match="no lightmap"):
            c.lightmap("L_Court", 7)
        with pytest.raises(ContainerError, match="holds 3 lightmaps"):
            c.lightmap()


def test_reading_one_lightmap_never_touches_the_others(tmp_path, tlm):
    data = bytearray(tlm.read_bytes())
    with Container.open(tlm) as c:
        other = c.lightmap("L_Court", 1).sections["signed"]
        data[other.offset] ^= 0xFF
    broken = tmp_path / "broken.tlm"
    broken.write_bytes(bytes(data))
    with Container.open(broken) as c:
        lm = c.lightmap("L_Court", 0)
        for name in lm.sections:
            lm.array(name)
        with pytest.raises(ContainerError, match="checksum mismatch in section 'signed'"):
            c.lightmap("L_Court", 1).array("signed")


def test_pack_unpack_pack_is_byte_identical(tmp_path, tlm):
    unpack(tlm, tmp_path / "u")
    pack(tmp_path / "u", tmp_path / "b.tlm")
    assert (tmp_path / "b.tlm").read_bytes() == tlm.read_bytes()
    doc = json.loads((tmp_path / "u" / "metadata.json").read_text())
    assert doc["lightmaps"][0]["sections"]["grid0"]["file"] == "000.grid0.bin"


def test_higher_minor_version_is_read_and_kept(tmp_path, tlm):
    unpack(tlm, tmp_path / "u")
    meta = tmp_path / "u" / "metadata.json"
    doc = json.loads(meta.read_text())
    doc["version"] = [1, 7]
    doc["lightmaps"][1]["sections"]["mask"]["new_field"] = {"x": 1}
    meta.write_text(json.dumps(doc))
    pack(tmp_path / "u", tmp_path / "v17.tlm")
    with Container.open(tmp_path / "v17.tlm") as c:
        assert c.version == (1, 7)
        assert c.lightmap("L_Court", 1).sections["mask"].entry["new_field"] == {"x": 1}


def rewrite_header(data: bytes, **fields) -> bytes:
    magic, major, minor, _, toc_len, file_len = HEADER.unpack_from(data)
    values = dict(magic=magic, major=major, minor=minor, toc_len=toc_len, file_len=file_len) | fields
    toc = data[HEADER.size:HEADER.size + values["toc_len"]]
    head = HEADER.pack(values["magic"], values["major"], values["minor"], 0, values["toc_len"], values["file_len"])
    crc = header_crc(head, toc)
    return HEADER.pack(values["magic"], values["major"], values["minor"], crc, values["toc_len"],
                       values["file_len"]) + data[HEADER.size:]


def test_unknown_major_and_wrong_magic(tlm):
    data = tlm.read_bytes()
    with pytest.raises(ContainerError, match="unsupported major version 2"):
        Container.open(rewrite_header(data, major=2))
    with pytest.raises(ContainerError, match="wrong magic"):
        Container.open(b"PK\x03\x04" + data[4:])


def test_repack_raw_has_no_compression_and_same_values(tmp_path, tlm):
    repack_raw(tlm, tmp_path / "raw.tlm")
    with Container.open(tlm) as a, Container.open(tmp_path / "raw.tlm") as b:
        assert all(s.codec == "raw" for lm in b.lightmaps for s in lm.sections.values())
        for la, lb in zip(a.lightmaps, b.lightmaps):
            for name in la.sections:
                np.testing.assert_array_equal(la.dequantized(name), lb.dequantized(name))


def test_auto_codec_compresses_only_where_that_saves_bytes(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)
    flat = np.zeros(4096, np.uint8)
    record = LightmapRecord("L", 0, 4, 4, [0.0], {"noise": Tensor(noise, codec="auto"), "flat": Tensor(flat, codec="auto")})
    with Container.open(write_container(tmp_path / "a.tlm", [record])) as c:
        sections = c.lightmaps[0].sections
        assert sections["noise"].codec == "raw" and sections["flat"].codec == "zstd"
        assert sections["flat"].length < 100
        np.testing.assert_array_equal(c.lightmaps[0].array("noise"), noise)
        np.testing.assert_array_equal(c.lightmaps[0].array("flat"), flat)


def test_repack_raw_can_rewrite_each_lightmaps_metadata(tmp_path):
    record = LightmapRecord("L", 0, 4, 4, [0.0], {"flat": Tensor(np.zeros(4096, np.uint8), codec="auto")},
                            metadata={"keep": 1, "drop": "x" * 500})
    path = write_container(tmp_path / "z.tlm", [record], metadata={"container": "wide"})
    full = repack_raw(path, tmp_path / "full.tlm")
    slim = repack_raw(path, tmp_path / "slim.tlm", lightmap_metadata=lambda m: {"keep": m["keep"]})
    assert full.stat().st_size > path.stat().st_size + 4000 and slim.stat().st_size < full.stat().st_size - 500
    with Container.open(slim) as c:
        assert c.metadata == {} and c.lightmaps[0].metadata == {"keep": 1}
        assert c.lightmaps[0].sections["flat"].codec == "raw"


def test_writer_failure_leaves_no_file(tmp_path):
    bad = [LightmapRecord("L", 0, 4, 4, [0.0], {"x": Tensor(np.zeros(3, np.int64))})]
    with pytest.raises(ValueError, match="dtype int64"):
        write_container(tmp_path / "x.tlm", bad)
    with pytest.raises(ValueError, match="not plain JSON"):
        write_container(tmp_path / "x.tlm", sample_records(), metadata={"bad": object()})
    assert list(tmp_path.iterdir()) == []


def test_quantisation_bounds_and_formulas():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1000, 6)).astype(np.float32) * np.arange(1, 7)
    for bits in (4, 6, 8, 16):
        q = calibrate(x, bits)
        back = q.dequantize(q.quantize(x))
        assert np.all(np.abs(back - x) <= q.scale / 2 + 4 * np.finfo(np.float32).eps * np.abs(x))
        assert np.all(q.dequantize(q.quantize(np.zeros((1, 6), np.float32))) == 0)  # 0 is exact
        manual = (q.quantize(x).astype(np.float32) - q.zero_point.astype(np.float32)) * q.scale
        np.testing.assert_array_equal(back, manual)
    x[0, 0] = 1e4  # an outlier: percentile calibration keeps the resolution for the rest
    assert calibrate(x, 8, percentile=99.0).scale[0] < calibrate(x, 8).scale[0] / 50


def test_uint4_packs_two_values_per_byte_and_checks_its_padding(tmp_path):
    values = np.arange(45, dtype=np.uint8).reshape(5, 9) % 16
    path = write_container(tmp_path / "u4.tlm", [LightmapRecord("L", 0, 4, 4, [0.0], {
        "u4": Tensor(values, dtype="uint4")})])
    with Container.open(path) as c:
        section = c.lightmaps[0].sections["u4"]
        assert section.length == 23 and section.dtype == "uint4"
        np.testing.assert_array_equal(c.lightmaps[0].array("u4"), values)
        start = section.offset
    data = bytearray(path.read_bytes())
    assert data[start] == 0x10 and data[start + 22] == 12  # element 0 low nibble, 1 high; last high nibble 0
    data[start + 22] |= 0x30
    with Container.open(bytes(data)) as c:
        with pytest.raises(ContainerError, match="checksum"):
            c.lightmaps[0].array("u4")
    with pytest.raises(ValueError, match="unused bits"):  # caught even where the checksum was made to match
        from_bytes(bytes(data[start:start + 23]), "uint4", (5, 9))
    with pytest.raises(FormatError, match="0..15"):
        write_container(tmp_path / "bad.tlm", [LightmapRecord("L", 0, 4, 4, [0.0], {
            "u4": Tensor(values + 1, dtype="uint4")})])
    assert not (tmp_path / "bad.tlm").exists()


@pytest.mark.parametrize("bits", [5, 6, 7])
def test_packed_types_lay_values_end_to_end_least_significant_bit_first(tmp_path, bits):
    values = np.arange(11, dtype=np.uint8) * 5 % (1 << bits)
    dtype = f"uint{bits}"
    path = write_container(tmp_path / "p.tlm", [LightmapRecord("L", 0, 4, 4, [0.0], {"p": Tensor(values, dtype=dtype)})])
    with Container.open(path) as c:
        section = c.lightmaps[0].sections["p"]
        assert section.length == (11 * bits + 7) // 8
        np.testing.assert_array_equal(c.lightmaps[0].array("p"), values)
        start = section.offset
    stored = path.read_bytes()[start:start + section.length]
    stream = int.from_bytes(stored, "little")
    assert [(stream >> (i * bits)) & ((1 << bits) - 1) for i in range(11)] == list(values)
    assert stream >> (11 * bits) == 0
    with pytest.raises(ValueError, match="unused bits"):
        from_bytes((stream | 1 << (11 * bits)).to_bytes(len(stored), "little"), dtype, (11,))
    with pytest.raises(FormatError, match=f"0..{(1 << bits) - 1}"):
        write_container(tmp_path / "bad.tlm", [LightmapRecord("L", 0, 4, 4, [0.0], {
            "p": Tensor(values | (1 << bits), dtype=dtype)})])


def test_one_value_per_byte_grids_written_before_packing_still_read(tmp_path):
    x = np.linspace(-1, 1, 24, dtype=np.float32).reshape(4, 6)
    q6 = calibrate(x, 6, axis=1)
    path = write_container(tmp_path / "old.tlm", [LightmapRecord("L", 0, 4, 4, [0.0], {
        "g": Tensor(q6.quantize(x), quant=q6.to_json(), dtype="uint8")})])
    with Container.open(path) as c:
        np.testing.assert_array_equal(c.lightmaps[0].array("g"), q6.quantize(x))
    q4 = calibrate(x, 4, axis=1)  # 4 bits were always packed: a uint8 4-bit section is not a todlm file
    with pytest.raises(FormatError, match="4-bit quantisation does not fit a uint8"):
        write_container(tmp_path / "bad.tlm", [LightmapRecord("L", 0, 4, 4, [0.0], {
            "g": Tensor(q4.quantize(x), quant=q4.to_json(), dtype="uint8")})])


def test_inspect_reports_exact_sizes(tmp_path, tlm):
    result = run_cli("inspect", tlm, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    with Container.open(tlm) as c:
        sections = sorted((s.offset, s.length) for lm in c.lightmaps for s in lm.sections.values())
        assert report["bytes"] == tlm.stat().st_size == sections[-1][0] + sections[-1][1]
        court = report["lightmaps"][0]
        assert court["stored_bytes"] == c.lightmap("L_Court", 0).stored_bytes
        packed = sum((45 * b + 7) // 8 for b in (4, 6, 1, 2, 3))  # grid2, grid3, detail1..3: partial last bytes
        assert court["raw_bytes"] == 8 * 16 * 4 + 8 * 16 * 4 * 2 + packed + 12 * 8 * 2 + 8 * 4
        assert court["bpts"] == pytest.approx(8 * court["stored_bytes"] / (64 * 32 * 4))
        assert court["hprc_ratio"] == pytest.approx(court["raw_bytes"] / (64 * 32 * 12 * 24))
        assert [s["checksum"] for s in court["sections"]] == ["ok"] * 9
    assert "grid0" in run_cli("inspect", tlm).stdout


def test_cli_pack_unpack_and_one_line_errors(tmp_path, tlm):
    assert run_cli("unpack", tlm, "-o", tmp_path / "u").returncode == 0
    assert run_cli("pack", tmp_path / "u", "-o", tmp_path / "b.tlm").returncode == 0
    assert (tmp_path / "b.tlm").read_bytes() == tlm.read_bytes()
    assert run_cli("unpack", tlm, "-o", tmp_path / "p", "--layout", "parameters").returncode == 0
    assert [p.name for p in (tmp_path / "p").iterdir()] == ["a.tlm"]
    (tmp_path / "u" / "000.grid1.bin").write_bytes(b"\0" * 5)
    (tmp_path / "cut.tlm").write_bytes(tlm.read_bytes()[:-1])
    for args, problem in [(("pack", tmp_path / "u", "-o", tmp_path / "c.tlm"), "size mismatch"),
                          (("inspect", tmp_path / "cut.tlm"), "truncated"),
                          (("unpack", tmp_path / "cut.tlm", "-o", tmp_path / "cut"), "truncated"),
                          (("inspect", tmp_path / "none.tlm"), "no such container")]:
        result = run_cli(*args)
        assert result.returncode == 1 and problem in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "c.tlm").exists() and not (tmp_path / "cut").exists()


def test_lying_shapes_allocate_nothing(tlm):
    data = tlm.read_bytes()
    toc_len = HEADER.unpack_from(data)[4]
    toc = json.loads(data[HEADER.size:HEADER.size + toc_len])
    for codec in ("raw", "zstd"):
        toc["lightmaps"][1]["sections"]["mask"].update(shape=[1 << 39, 1 << 39], codec=codec)
        lie = json.dumps(toc).encode()
        body = data[:HEADER.size] + lie
        pad = (-len(body)) % 64
        # keep the data area where it was, as far as the new TOC length allows
        rest = data[(HEADER.size + toc_len + 63) // 64 * 64:]
        blob = body + b"\0" * pad + rest
        blob = rewrite_header(blob, toc_len=len(lie), file_len=len(blob))
        tracemalloc.start()
        with pytest.raises(ContainerError, match="bad shape|declares|raw length"):
            Container.open(blob)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 10 * len(blob) + 200_000


def test_auto_codec_stores_raw_what_the_reader_would_refuse_to_inflate(tmp_path):
    """A large all-zero section packs to a few bytes, past the reader's expansion guard: "auto"
    keeps it raw so the file reads back."""
    zeros = Tensor(np.zeros((1 << 21,), np.uint8), codec="auto")
    record = LightmapRecord("L", 1, 4, 4, [0.0], {"zeros": zeros}, {})
    with Container.open(write_container(tmp_path / "z.tlm", [record])) as c:
        assert c.lightmaps[0].sections["zeros"].codec == "raw"
        assert not c.lightmaps[0].array("zeros").any()
