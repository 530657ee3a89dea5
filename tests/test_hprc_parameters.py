"""What a submission ships: Parameters/ holds every section raw and only the metadata the decoder
reads, it decodes exactly as the .tlm does, and its size is what every command calls the ratio."""

import numpy as np

from model_fixtures import VARIANTS, lightmap_for, variant_config
from todlm.bench.random_model import numpy_record
from todlm.decoder.api import Decoder
from todlm.decoder.hprc_export import container_rate, hprc_bytes, write_parameters
from todlm.format.container import Container
from todlm.format.container_writer import write_container
from todlm.metrics.rate import hprc_ratio


def test_parameters_decode_as_the_container_and_carry_no_descriptions(tmp_path):
    level = [numpy_record(variant_config(v), lightmap_for(9, 7), seed=v) for v in range(len(VARIANTS))]
    for i, record in enumerate(level):
        record.id = i
        record.metadata["training"] = {"steps": 1234, "note": "x" * 300}
    tlm = write_container(tmp_path / "level.tlm", level, metadata={"trained_from": "somewhere"})
    params = write_parameters(tlm, tmp_path / "model.tlm")
    with Container.open(params) as c:
        assert c.metadata == {} and all(s.codec == "raw" for lm in c.lightmaps for s in lm.sections.values())
        assert all(set(lm.metadata) == {"model"} and "levels" not in lm.metadata["model"] for lm in c.lightmaps)
        toc_per_lightmap = c.toc_length / len(c.lightmaps)
    with Container.open(tlm) as c:
        assert toc_per_lightmap < c.toc_length / len(c.lightmaps) - 1500  # descriptions and settings gone
    for i in range(len(level)):
        a, b = Decoder.open(tlm, lightmap=("L_Rand", i)), Decoder.open(params, lightmap=("L_Rand", i))
        for t in (0.0, 7.25, 19.0):
            np.testing.assert_array_equal(a.decode_frame(t), b.decode_frame(t))
    rate = container_rate(tlm)
    assert rate["hprc_bytes"] == hprc_bytes(tlm) == params.stat().st_size
    assert rate["ratio"] == hprc_ratio(params.stat().st_size, [(7, 9)] * len(level))
