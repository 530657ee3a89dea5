"""A run is one plain JSON document, {"model": ModelConfig, "train": TrainConfig}: the presets are
such files in trainer/presets/, `todlm train --config FILE` reads one, `--set a.b=VALUE`
overrides any field, and every results row stores the document it ran, so any row can be
reproduced from the row alone."""

import json
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

from todlm.format.model_config import ModelConfig

from .train_config import TrainConfig

PRESETS = ("fast", "default", "max", "small")


@dataclass
class Preset:
    model: ModelConfig
    train: TrainConfig

    def to_json(self) -> dict:
        return {"model": self.model.to_json(), "train": json.loads(json.dumps(self.train.to_json()))}


def preset_document(name: str) -> dict:
    """The preset's JSON document (trainer/presets/NAME.json)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r} (use {', '.join(PRESETS)}, or --config FILE)")
    return json.loads(resources.files("todlm.trainer").joinpath("presets", f"{name}.json").read_text())


def preset(name: str) -> Preset:
    return from_document(preset_document(name), f"preset {name}")


def read_document(path: Path) -> dict:
    """A run document from a JSON file, checked to be an object with model and train parts."""
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the config ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON config ({exc})") from None
    from_document(doc, str(path))
    return doc


def from_document(doc, where: str = "config") -> Preset:
    """A validated Preset; a missing field keeps the dataclass default, an unknown one is an error
    (a typo must not silently train something else)."""
    if not isinstance(doc, dict) or set(doc) - {"model", "train"}:
        raise ValueError(f"{where}: a config is an object with the parts 'model' and 'train'")
    model, train = doc.get("model", {}), doc.get("train", {})
    if not isinstance(model, dict) or not isinstance(train, dict):
        raise ValueError(f"{where}: 'model' and 'train' must be objects")
    for section, sub in model.items():
        part = _model_part(section)
        if part is None:
            raise ValueError(f"{where}: unknown field model.{section}")
        if not isinstance(sub, dict):
            raise ValueError(f"{where}: model.{section} must be an object")
        _check_fields(sub, part, f"model.{section}", where)
    _check_fields(train, TrainConfig, "train", where)
    model_config = ModelConfig.from_json(model, where)
    try:
        train_config = TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in train.items()})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    return Preset(model_config, train_config)


def with_sets(doc: dict, sets: list[str], where: str | None = None) -> dict:
    """`doc` with each `PATH=VALUE` applied: PATH is train.FIELD, model.PART.FIELD or PART.FIELD
    for a model part; VALUE is JSON (3, 0.5, true, [16, 32], "l1") or else a plain string."""
    doc = json.loads(json.dumps(doc))
    where = where or "--set " + " ".join(sets)
    for item in sets:
        path, eq, text = item.partition("=")
        keys = path.strip().split(".")
        if not eq or not all(keys):
            raise ValueError(f"--set {item!r}: use PATH=VALUE, e.g. grid.channels=6 or train.steps=4000")
        if keys[0] not in ("model", "train"):
            keys = ["model" if _model_part(keys[0]) else "train"] + keys
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        node = doc
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ValueError(f"--set {item!r}: {key} is not a section")
        node[keys[-1]] = value
    from_document(doc, where)
    return doc


def with_steps(doc: dict, steps: int) -> dict:
    """`doc` trained for `steps` main steps, its quantised fine-tune scaled in proportion, so a
    shortened run keeps the preset's balance."""
    doc = json.loads(json.dumps(doc))
    train = doc.setdefault("train", {})
    old_steps = train.get("steps", TrainConfig.steps)
    train["quant_finetune"] = round(train.get("quant_finetune", TrainConfig.quant_finetune) * steps / old_steps)
    train["steps"] = steps
    return doc


def document_text(doc: dict) -> str:
    """JSON with one line per model part and per training field: short enough to read and diff."""
    lines = ["{", ' "model": {']
    model = doc.get("model", {})
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in model.items()]
    if model:
        lines[-1] = lines[-1].rstrip(",")
    lines += [" },", ' "train": {']
    train = doc.get("train", {})
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in train.items()]
    if train:
        lines[-1] = lines[-1].rstrip(",")
    return "\n".join(lines + [" }", "}"]) + "\n"


def _model_part(name: str):
    for f in fields(ModelConfig):
        if f.name == name:
            return f.default_factory().__class__
    return None


def _check_fields(values: dict, cls, prefix: str, where: str) -> None:
    """Unknown names and values of the wrong JSON type name the field (the dataclasses accept
    anything; a string where a number belongs would fail deep in training)."""
    defaults = {f.name: getattr(cls(), f.name) for f in fields(cls)}
    for key, value in values.items():
        if key not in defaults:
            raise ValueError(f"{where}: unknown field {prefix}.{key} (known: {', '.join(defaults)})")
        if not _same_kind(value, defaults[key]):
            raise ValueError(f"{where}: {prefix}.{key} = {json.dumps(value)} is not a {_kind(defaults[key])}")


def _kind(default) -> str:
    if isinstance(default, bool):
        return "true/false"
    if isinstance(default, int):
        return "whole number"
    if isinstance(default, float):
        return "number"
    if isinstance(default, (list, tuple)):
        return "list"
    return "string" if isinstance(default, str) else "value"


def _same_kind(value, default) -> bool:
    if default is None:
        return value is None or isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float):
        return False
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, list)
    return isinstance(value, type(default))
