"""What a resumable run was started with (model config + training config as JSON), kept beside
its checkpoint and work folder, so a rerun with other options stops with a clear message instead
of silently continuing, or reusing, what the old options made."""

import json

from todlm.format.model_config import ModelConfig

from .train_config import TrainConfig, frame_balance


def settings_json(model: ModelConfig, train: TrainConfig) -> dict:
    """Plain JSON (tuples as lists), comparable with what json.loads gives back. The value
    domain's scale is left out: training sets it from the data."""
    model_json = model.to_json()
    model_json["value"] = {k: v for k, v in model_json["value"].items() if k != "scale"}
    return json.loads(json.dumps({"model": model_json, "train": train.to_json()}))


def check_same_settings(stored: dict | None, current: dict, where) -> None:
    """Raises ValueError naming `where` and the settings that differ; stored None (made before
    stamps existed) passes, and a training field added since the stamp was made counts as its
    default (the run was trained without it)."""
    if stored is None:
        return
    if "train" in stored:
        train = {**json.loads(json.dumps(TrainConfig().to_json())), **stored["train"]}
        train["balance_frames"] = frame_balance(train["balance_frames"])
        stored = {**stored, "train": train}
    if stored == current:
        return
    differ = sorted(f"{part}.{key}" for part in ("model", "train")
                    for key in set(stored.get(part, {})) | set(current[part])
                    if stored.get(part, {}).get(key) != current[part].get(key))
    raise ValueError(f"{where}: made with other training settings ({', '.join(differ) or 'format'}); "
                     "rerun with the same options, or delete it to start over")
