import numpy as np

from todlm.format.container_writer import LightmapRecord, Tensor
from todlm.format.quant import AffineQuant, calibrate


def sample_records(seed=0, big=False):
    rng = np.random.default_rng(seed)
    grid = rng.standard_normal((24 if big else 8, 16, 4)).astype(np.float32)
    q8 = calibrate(grid, 8, axis=2)
    q16 = calibrate(grid, 16, axis=0, percentile=99.0)
    small = rng.standard_normal((5, 3, 3)).astype(np.float32)  # 45 values: the last uint4 byte is half used
    q4 = calibrate(small, 4, axis=2)
    q6 = calibrate(small, 6, axis=0)  # 45 x 6 bits: the last byte holds 2 bits
    # 45 x 1, 2, 3 bits: partial last bytes; min/max calibration needs 2 bits, so 1 bit is set by hand
    q1 = AffineQuant(1, 2, np.array([0.5, 1.0, 2.0], np.float32), np.ones(3, np.int64))
    q2, q3 = calibrate(small, 2, axis=2), calibrate(small, 3, axis=2)
    return [
        LightmapRecord("L_Court", 0, 64, 32, [0.0, 5.9, 6.0, 18.1], {
            "grid0": Tensor(q8.quantize(grid), "zstd", level=3, quant=q8.to_json()),
            "grid1": Tensor(q16.quantize(grid), "raw", quant=q16.to_json(), extra={"note": "kept"}),
            "grid2": Tensor(q4.quantize(small), "raw", quant=q4.to_json(), dtype=q4.storage_dtype),
            "grid3": Tensor(q6.quantize(small), "raw", quant=q6.to_json(), dtype=q6.storage_dtype),
            **{f"detail{q.bits}": Tensor(q.quantize(small), "raw", quant=q.to_json(), dtype=q.storage_dtype)
               for q in (q1, q2, q3)},
            "mlp.w0": Tensor(rng.standard_normal((12, 8)).astype(np.float16), quant={"scheme": "float16"}),
            "bias": Tensor(rng.standard_normal(8).astype(np.float32)),
        }, metadata={"model": {"type": "gridmlp", "features": []}}, name="court", extra={"future_key": [1, 2]}),
        LightmapRecord("L_Court", 1, 32, 32, [12.0], {
            "mask": Tensor(np.ones((32, 32), np.uint8), "zstd"),
            "signed": Tensor(rng.integers(-128, 127, (5, 3)).astype(np.int8)),
        }),
        LightmapRecord("L_Other", 0, 16, 16, [1.0, 2.0], {}),
    ]
