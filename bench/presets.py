"""The setups the benchmark trains, as data (bench/variants.json): the trainer's presets, and
variants that are a preset plus `--set` overrides (its ablations, earlier defaults, the HPRC
leader's recipe as a todlm model), each with the suites that run it."""

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from todlm.trainer.run_config import PRESETS, Preset, from_document, preset_document, with_sets

PRESET_RATE_POINTS = PRESETS  # the suite runs the trainer's presets before any variant


@dataclass
class BenchPreset(Preset):
    note: str = ""
    method: str = "todlm"


@cache
def variant_table() -> dict:
    return json.loads(resources.files("todlm.bench").joinpath("variants.json").read_text())


def suite_presets(suite: str) -> tuple[str, ...]:
    return tuple(variant_table()["suites"][suite])


def bench_document(name: str) -> dict:
    """The run document of a preset or variant: what a results row stores as its config."""
    if name in PRESETS:
        return preset_document(name)
    entry = variant_table()["variants"].get(name)
    if entry is None:
        raise ValueError(f"unknown benchmark preset {name!r}")
    return with_sets(preset_document(entry["base"]), [f"{k}={json.dumps(v)}" for k, v in entry["set"].items()],
                     f"variant {name}")


def bench_preset(name: str) -> BenchPreset:
    p = from_document(bench_document(name), name)
    entry = variant_table()["variants"].get(name, {})
    return BenchPreset(p.model, p.train, entry.get("note", f"todlm preset {name}"), entry.get("method", "todlm"))
