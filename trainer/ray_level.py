"""A level's lightmaps as Ray tasks: on a local Ray runtime started for the run, or on an existing
cluster (`ray start --head`, then `todlm train ... --ray-address ADDR`). Each task trains one
group of lightmaps (train.group of one shape; one lightmap by default) into the work folder
exactly as the one-process path does (dataset_train.finished_group), so the work folder stays the
one record of what is done: a task whose worker dies is retried by Ray, an interrupted run
resumes from the parts and checkpoints there, and the output is assembled once, by the caller.
On a cluster the data and the work folder must be on a shared filesystem."""

import importlib
from pathlib import Path

RETRIES = 3  # a task whose worker process dies is run again this many times


def _train_group(data: str, keys: list[tuple[str, int]], preset_doc: dict, work: str, device: str,
                 threads: int) -> list[dict]:
    """One group of lightmaps, in a Ray worker."""
    import torch

    from todlm.format.sources import read_lightmap

    from .dataset_train import Progress, finished_group
    from .run_config import from_document

    torch.set_num_threads(threads)
    lightmaps = [read_lightmap(Path(data), tuple(key)) for key in keys]
    return finished_group(lightmaps, from_document(preset_doc), Path(work), device, Progress(), Path(data))


def require_ray() -> None:
    try:
        importlib.import_module("ray")
    except ImportError:
        raise ValueError("--workers needs Ray: pip install -e \".[train,ray]\"") from None


def train_on_ray(data: Path, groups: list[list[tuple[str, int]]], preset, work: Path, device: str, workers: int,
                 address: str | None, progress) -> dict:
    """{key: row} for every key of `groups`, `workers` groups at a time; progress.end hears each
    lightmap as its group ends."""
    require_ray()
    import ray

    if workers < 1:
        raise ValueError("--workers must be at least 1")
    started = not ray.is_initialized()
    if started:
        if address is not None:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, num_gpus=1 if device == "cuda" else 0, include_dashboard=False,
                     log_to_driver=False)
    try:
        import torch

        # the run's fixed count, else this process's: other counts change float sums, and so the file
        threads = preset.train.threads or torch.get_num_threads()
        gpus = 1 / workers if device == "cuda" else 0
        task = ray.remote(max_retries=RETRIES, num_cpus=1, num_gpus=gpus)(_train_group)
        doc = preset.to_json()
        pending = {task.remote(str(data), group, doc, str(work), device, threads): group for group in groups}
        done = {}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            group = pending.pop(ready[0])
            try:
                rows = ray.get(ready[0])
            except ray.exceptions.RayTaskError as exc:  # the task's own error (bad data), not a lost worker
                raise ValueError(str(exc.cause) if getattr(exc, "cause", None) is not None else str(exc)) from None
            for key, row in zip(group, rows):
                done[key] = row
                progress.end(row)
        return done
    finally:
        if started:
            ray.shutdown()
