"""The `todlm` command line (typer). Bad input ends in one line on stderr and exit 1."""

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from todlm.format import FormatError, load_sample, write_hprc, write_sequence

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="todlm: a neural codec for time-of-day HDR lightmaps.")
err = Console(stderr=True)


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"


def training_device(device: Device) -> str:
    if device is Device.cuda:
        import torch

        if not torch.cuda.is_available():
            raise ValueError("--device cuda: torch sees no CUDA GPU on this machine (or was built without CUDA)")
    return device.value


def run_document(preset: Optional[str], config: Optional[Path], sets: list[str], steps: Optional[int] = None,
                 seed: Optional[int] = None) -> tuple[dict, str]:
    """The run document a command trains (a preset's or --config's, then --steps, --set, --seed)
    and a label for it."""
    from todlm.trainer.run_config import preset_document, read_document, with_sets, with_steps

    if preset is not None and config is not None:
        raise typer.BadParameter("give --preset or --config, not both")
    doc = read_document(config) if config is not None else preset_document(preset or "default")
    if steps is not None:
        doc = with_steps(doc, steps)
    doc = with_sets(doc, sets)  # after --steps, so an explicit train.quant_finetune is kept
    if seed is not None:
        doc = with_sets(doc, [f"train.seed={seed}"])
    return doc, str(config) if config is not None else preset or "default"


CONFIG_HELP = "a run document (JSON: model + train; `todlm config PRESET` prints one to start from)"
SET_HELP = "override one field: PATH=VALUE, e.g. grid.channels=6, mlp.hidden=64, train.steps=4000 (repeatable)"


@app.command()
def train(data: Path = typer.Argument(..., help="HPRC folder (config.json), sequence (manifest.json) or EXR/.hdr"),
          out: Path = typer.Option(..., "-o", "--out", help="the .tlm container to write"),
          preset: Optional[str] = typer.Option(None, help="fast | default | max | small [default]"),
          config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP),
          sets: list[str] = typer.Option([], "--set", help=SET_HELP),
          only: Optional[str] = typer.Option(None, help="train one lightmap: LEVEL/ID"),
          device: Device = typer.Option(Device.cpu, help="torch device for training"),
          steps: Optional[int] = typer.Option(None, min=1, help="main training steps (the quantised fine-tune "
                                                                "scales with them)"),
          seed: Optional[int] = typer.Option(None, help="override the run's seed"),
          keep_work: bool = typer.Option(False, "--keep-work", help="keep OUT.work/ (each lightmap's own "
                                                                    "container and figures) after success"),
          workers: Optional[int] = typer.Option(None, "--workers", min=1, help="train N lightmaps at once as Ray "
                                                                              "tasks (the [ray] extra)"),
          ray_address: Optional[str] = typer.Option(None, "--ray-address", help="run the tasks on this Ray "
                                                                                 "cluster (with --workers)")):
    """Train every lightmap of DATA into one .tlm container (interrupt and rerun to resume)."""
    from todlm.trainer.run_config import from_document

    from .train_command import run_train

    key = parse_key(only)
    doc, label = run_document(preset, config, sets, steps, seed)
    try:
        if ray_address is not None and workers is None:
            raise typer.BadParameter("--ray-address needs --workers N")
        run_train(data, out, from_document(doc), label, key, training_device(device), keep_work, workers,
                  ray_address)
    except KeyboardInterrupt:
        print(f"todlm train: interrupted; run the same command again to resume ({out.name}.work/)",
              file=sys.stderr)
        raise typer.Exit(130)


@app.command("config")
def show_config(preset: Optional[str] = typer.Argument(None, help="fast | default | max | small [default]"),
                config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP),
                sets: list[str] = typer.Option([], "--set", help=SET_HELP)):
    """Print a run document (a preset, or --config, with --set applied) for `todlm train --config`."""
    from todlm.trainer.run_config import document_text

    doc, _ = run_document(preset, config, sets)
    sys.stdout.write(document_text(doc))


@app.command()
def pack(folder: Path = typer.Argument(..., help="unpacked folder: metadata.json + one .bin per tensor"),
         out: Path = typer.Option(..., "-o", "--out", help="the .tlm file to write")):
    """Pack an unpacked folder into a .tlm container."""
    from todlm.format.unpacked import pack as pack_folder

    pack_folder(folder, out)
    err.print(f"wrote {out} ({out.stat().st_size} bytes)")


class Layout(str, Enum):
    dir = "dir"
    parameters = "parameters"


@app.command()
def unpack(container: Path = typer.Argument(..., help=".tlm file"),
           out: Path = typer.Option(..., "-o", "--out", help="folder to create"),
           layout: Layout = typer.Option(Layout.dir, help="dir: metadata.json + one raw .bin per section; "
                                                          "parameters: what an HPRC submission's Parameters/ "
                                                          "holds (every section raw, the metadata the decoder "
                                                          "reads)")):
    """Unpack a .tlm container (the reverse of pack)."""
    from todlm.decoder.hprc_export import write_parameters
    from todlm.format.atomic import atomic_directory
    from todlm.format.unpacked import unpack as unpack_container

    if layout is Layout.dir:
        unpack_container(container, out)
    else:
        with atomic_directory(out) as tmp:
            write_parameters(container, tmp / container.name)
    err.print(f"wrote {out}")


@app.command()
def inspect(container: Path = typer.Argument(..., help=".tlm file"),
            as_json: bool = typer.Option(False, "--json", help="machine-readable output")):
    """Show a container's sections, sizes, checksums and metadata."""
    import json

    from .inspect_report import inspect_report, print_report

    report = inspect_report(container)
    if as_json:
        print(json.dumps(report, indent=1))
    else:
        print_report(report, Console())
    if not report["checksums_ok"]:
        raise typer.Exit(1)


def parse_key(only: Optional[str]) -> tuple[str, int] | None:
    if only is None:
        return None
    level, _, lid = only.rpartition("/")
    if not level or not lid.lstrip("-").isdigit():
        raise typer.BadParameter("a lightmap is LEVEL/ID, e.g. L_Courtyard256/0")
    return level, int(lid)




@app.command()
def decode(container: Path = typer.Argument(..., help=".tlm file"),
           out: Path = typer.Option(..., "-o", "--out", help=".exr or .png file (or a folder with --all-times)"),
           time_h: Optional[float] = typer.Option(None, "--time", help="hours in [0, 24]"),
           all_times: bool = typer.Option(False, "--all-times", help="every time the model was made for"),
           device: Device = typer.Option(Device.cpu, help="decoder backend"),
           lightmap: Optional[str] = typer.Option(None, help="LEVEL/ID when the container holds several"),
           dilate: int = typer.Option(4, min=0, max=64, help="refill N texels of gutter around the covered "
                                                             "texels from their nearest neighbours, as bakers "
                                                             "do (the courtyard bake's gutter is 4 wide), for "
                                                             "engines that filter bilinearly; 0: uncovered texels "
                                                             "stay 0, as the judge scores them")):
    """Decode frames of a container to EXR, or a frame to a tonemapped PNG preview (no torch)."""
    from .decode_eval import run_decode

    if (time_h is None) == (not all_times):
        raise typer.BadParameter("give --time HOURS or --all-times")
    run_decode(container, out, time_h, all_times, device.value, parse_key(lightmap), dilate)
    err.print(f"wrote {out}")


class Protocol(str, Enum):
    hprc = "hprc"


@app.command("eval")
def evaluate(container: Path = typer.Argument(..., help=".tlm file"),
             data: Path = typer.Argument(..., help="ground truth: HPRC folder, sequence or EXR"),
             protocol: Protocol = typer.Option(Protocol.hprc, help="scoring rules"),
             device: Device = typer.Option(Device.cpu, help="decoder backend"),
             json_out: Optional[Path] = typer.Option(None, "--json", help="also write the report here"),
             flip: bool = typer.Option(True, help="HDR-FLIP per time (about 1 s per 256² frame)")):
    """Decode a container with the torch-free decoder and score it against ground truth: the
    judge's figures, and PSNR, SSIM and HDR-FLIP per lightmap and time."""
    from .decode_eval import run_eval

    run_eval(container, data, device.value, json_out, flip)


@app.command()
def bench(suite: str = typer.Option("quick", help="quick (<= 15 min here: the bundled sample) or full (every "
                                                  "dataset in ../shared/data; hours; resumes)"),
          out: Optional[Path] = typer.Option(None, "--out", help="results JSON [bench/results/SUITE.json]"),
          plot: Optional[Path] = typer.Option(None, "--plot", help="also draw the rate-distortion PNG here"),
          data: list[Path] = typer.Option([], "--data", help="another dataset (any supported format); repeatable"),
          only: list[str] = typer.Option([], "--only", help="run only datasets whose name starts with this "
                                                            "(e.g. sample, tod/, unity/); repeatable"),
          preset: list[str] = typer.Option([], "--preset", help="run only this todlm preset (baselines still run); "
                                                                "repeatable"),
          redo: bool = typer.Option(False, "--redo", help="first drop the selected datasets' todlm rows (of --preset "
                                                          "where given) from --out, so they are trained again; "
                                                          "rerun without --redo to resume"),
          method: list[str] = typer.Option([], "--method", help="run only this method's jobs (e.g. ndgi-recipe, pca, "
                                                                "todlm); repeatable"),
          keep: Optional[Path] = typer.Option(None, "--keep", help="also keep each todlm row's .tlm in this folder "
                                                                   "(DATASET-PRESET.tlm), e.g. for error maps")):
    """Benchmark todlm against fp16+zstd, ASTC HDR, PCA and interpolation, side by side; an
    interrupted run resumes from the rows already in --out."""
    from .bench_command import run_bench

    if suite not in ("quick", "full"):
        raise typer.BadParameter("--suite is quick or full")
    run_bench(suite, out or Path("bench/results") / f"{suite}.json", plot, data, only, preset, redo, method, keep)


@app.command("bench-report")
def bench_report(results: Path = typer.Option(Path("bench/results"), help="folder of results JSON"),
                 out: Path = typer.Option(Path("bench/RESULTS.md"), "--out", help="the Markdown to write"),
                 readme: Optional[Path] = typer.Option(Path("README.md"), help="README whose presets table to "
                                                                                "rewrite (between its markers)"),
                 plots: bool = typer.Option(True, help="also redraw the RD plots (results/rd_SUITE.png)")):
    """Render bench/RESULTS.md, the README's presets table and the RD plots from the results JSON."""
    from todlm.bench.report import write_report

    if not results.is_dir():
        raise ValueError(f"{results}: no such results folder")
    for path in write_report(results, out, readme if readme is not None and readme.is_file() else None, plots):
        err.print(f"wrote {path}")


class ExportTarget(str, Enum):
    hprc = "hprc"


@app.command()
def export(target: ExportTarget = typer.Argument(..., help="hprc: an HPRC submission folder"),
           container: Path = typer.Argument(..., help=".tlm file"),
           out: Path = typer.Option(..., "-o", "--out", help="folder to create")):
    """Export a container for a consumer: `hprc` writes Interface.py, the vendored decoder,
    requirements.txt and Parameters/ (raw sections only)."""
    from todlm.decoder.hprc_export import export_hprc

    export_hprc(container, out)
    size = sum(p.stat().st_size for p in (out / "Parameters").iterdir())
    err.print(f"wrote {out} (Parameters/: {size} bytes)")


class Split(str, Enum):
    train = "train"
    unseen = "unseen"
    all = "all"


@app.command()
def sample(hprc: Optional[Path] = typer.Option(None, "--hprc", help="write the sample as a Data_HPRC folder"),
           exr: Optional[Path] = typer.Option(None, "--exr", help="write the sample as EXR frames + manifest.json"),
           split: Split = typer.Option(Split.train, help="train: the 26 HPRC times; unseen: 8 times between"),
           ):
    """Write the bundled time-of-day sample (256x256, baked with Blender Cycles) to disk."""
    if hprc is None and exr is None:
        raise typer.BadParameter("give --hprc DIR and/or --exr DIR")
    s = load_sample()
    parts = [{"train": s.train, "unseen": s.unseen}.get(split.value) or s.all_times()]
    if hprc is not None:
        write_hprc(hprc, parts)
        err.print(f"wrote {hprc} ({parts[0].n_times} times, HPRC layout)")
    if exr is not None:
        write_sequence(exr, parts[0], fmt="exr")
        err.print(f"wrote {exr} ({parts[0].n_times} EXR frames + manifest.json)")


@app.command()
def demo(out: Path = typer.Option(Path("todlm-demo"), help="folder for metrics.json and contact sheets"),
         flip: bool = typer.Option(True, help="compute HDR-FLIP (about 1 s per frame)"),
         steps: Optional[int] = typer.Option(None, help="training steps (default: the fast preset's)")):
    """Run the whole pipeline on the bundled sample and print its metrics."""
    from .demo import run_demo

    run_demo(out, with_flip=flip, steps=steps)


def main(argv: list[str] | None = None) -> None:
    """The console script (argv: the arguments, default sys.argv[1:]): bad input ends as one line
    on stderr and exit 1 (a malformed command line: exit 2), never a traceback."""
    try:
        sys.exit(app(args=argv, prog_name="todlm", standalone_mode=False) or 0)
    except typer.Abort:
        err.print("todlm: interrupted")
        sys.exit(130)
    except (FormatError, ValueError) as exc:
        print(f"todlm: error: {exc}", file=sys.stderr)
        sys.exit(1)
    except OSError as exc:  # permissions, a read-only or full disk, a folder where a file goes
        where = exc.filename2 or exc.filename  # os.replace names the target second
        print(f"todlm: error: {f'{where}: ' if where else ''}{exc.strerror or exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("todlm: interrupted")
        sys.exit(130)
    except Exception as exc:
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):  # not a command-line error
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare command: its help
            exc.show()
            sys.exit(exc.exit_code)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        print(f"todlm: error: {exc.format_message()}{hint}", file=sys.stderr)
        sys.exit(exc.exit_code)
