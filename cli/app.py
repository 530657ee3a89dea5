"""The `todlm` command line (typer). Bad input ends in one line on stderr and exit 1."""

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from todlm.format import FormatError, load_sample, write_hprc, write_sequence
from todlm.format.model_config import MLP_WEIGHTS

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="todlm: a neural codec for time-of-day HDR lightmaps.")
err = Console(stderr=True)


class FrameBalance(str, Enum):
    mean_square = "mean-square"
    median = "median"
    none = "none"


class TemporalLoss(str, Enum):
    l2 = "l2"
    l1 = "l1"
    off = "off"


MLPWeights = Enum("MLPWeights", {name: name for name in MLP_WEIGHTS}, type=str)


@app.command()
def train(data: Path = typer.Argument(..., help="HPRC folder (config.json), sequence (manifest.json) or EXR/.hdr"),
          out: Path = typer.Option(..., "-o", "--out", help="the .tlm container to write"),
          preset: str = typer.Option("default", help="fast | default | max"),
          only: Optional[str] = typer.Option(None, help="train one lightmap: LEVEL/ID"),
          device: str = typer.Option("cpu", help="cpu or cuda (torch device for training)"),
          steps: Optional[int] = typer.Option(None, help="override the preset's step count"),
          seed: Optional[int] = typer.Option(None, help="override the preset's seed"),
          basis: Optional[int] = typer.Option(None, help="time basis terms K (0: time features into the MLP, "
                                                         "slower to decode); overrides the preset"),
          qat: Optional[float] = typer.Option(None, help="fraction of final steps trained through fake "
                                                         "quantisation (e.g. 0.2); overrides the preset"),
          quant_finetune: Optional[int] = typer.Option(None, "--quant-finetune", min=0,
                                                       help="steps after the main ones that train the MLP and "
                                                            "baseline against the frozen, quantised grids (0: "
                                                            "plain PTQ); overrides the preset"),
          hash_top_levels: Optional[int] = typer.Option(None, help="the finest K grid levels use hash tables "
                                                                   "where their cells outnumber --hash-capacity"),
          hash_capacity: Optional[int] = typer.Option(None, help="entries per hash table (a power of two)"),
          hash_warmup: Optional[float] = typer.Option(None, help="fraction of first steps that train the hash "
                                                                 "tables alone (e.g. 0.1)"),
          baseline_encoder: Optional[int] = typer.Option(None, help="latent texture channels C at 1/8 resolution, "
                                                                    "made by a CNN over the mean frame (a multiple "
                                                                    "of the grid channels; 0: none)"),
          grid_bits: Optional[int] = typer.Option(None, help="bits per stored grid value: 4-7 (packed end to "
                                                             "end), 8 or 16; pair 4 with --qat"),
          detail: Optional[str] = typer.Option(None, help="detail plane J[:B]: J full-resolution values of B bits "
                                                          "(default 2) per texel, added to the first J basis "
                                                          "coefficients (needs a time basis; 0: none; fast 1:2, "
                                                          "default 1:4, max 0)"),
          knot_residual: Optional[str] = typer.Option(None, "--knot-residual",
                                                      help="knot residual D[:B]: per time knot (and lamp state) a "
                                                           "1/D-resolution image of B-bit values (default 8), "
                                                           "fitted after training to what the model still gets "
                                                           "wrong hour by hour (most FLIP on dim, moonlit "
                                                           "surfaces; costs 26 x 3 / D^2 values per texel; needs "
                                                           "the hat time basis; default and max 4 behind a FLIP "
                                                           "floor, fast 0)"),
          knot_residual_flip: Optional[float] = typer.Option(None, "--knot-residual-flip", min=0.0,
                                                           help="fit the knot residual only if the trained "
                                                                "model's mean HDR-FLIP on the training frames "
                                                                "exceeds this (default and max 0.1; 0: always)"),
          mlp_weights: Optional[MLPWeights] = typer.Option(None, "--mlp-weights",
                                                    help="how the MLP's layer weights are stored: float16, float32 "
                                                         "or uint8 (8 bits, a scale per output row, trained through "
                                                         "fake quantisation in the fine-tune; half float16's bytes)"),
          grid_channels: Optional[int] = typer.Option(None, help="feature channels per grid level (fast 6, default "
                                                                 "5, max 12); e.g. 8 with --grid-bits 6"),
          value: Optional[str] = typer.Option(None, help="value domain the network predicts: gamma:G (x^(1/G)), "
                                                         "mulaw:MU (log(1+MU x)/log(1+MU)), both on x / the data's "
                                                         "peak, log1p (absolute units) or linear"),
          balance_frames: Optional[FrameBalance] = typer.Option(None, "--balance-frames",
                                                                help="scale each time's value-domain loss by 1 / "
                                                                     "its mean square (the default) or its median "
                                                                     "squared, so dark (night) frames count as much "
                                                                     "as day; median helps lamp-lit nights with "
                                                                     "dark moonlit surfaces; none: every time alike"),
          tile_psnr: Optional[float] = typer.Option(None, "--tile-psnr", min=0.0, max=1.0,
                                                    help="weight each (time, tile)'s linear error by 1 / its MSE^A: "
                                                         "1 follows the judge's mean of per-tile PSNR in dB (most "
                                                         "PSNR; bright tiles lose SSIM/FLIP), 0 weighs every texel "
                                                         "alike (presets: default 0.75, fast and max 0)"),
          ssim_loss: Optional[float] = typer.Option(None, "--ssim-loss", min=0.0,
                                                    help="weight of 1 - the judge's SSIM on a random 64x64 "
                                                         "patch per step (presets: fast 0.01, default 0.05, "
                                                         "max 0.03; 0: off; more costs PSNR)"),
          temporal_loss: Optional[TemporalLoss] = typer.Option(None, "--temporal-loss",
                                                      help="penalty on the error of adjacent frames' differences: "
                                                           "l2 (the default), l1 (the seed's form and weights, "
                                                           "0.05 -> 0.2; costs PSNR) or off"),
          mask_unlit: Optional[bool] = typer.Option(None, "--mask-unlit/--no-mask-unlit",
                                                    help="treat texels that are 0 at every time as empty atlas "
                                                         "space: out of the loss and the stored mask, so they "
                                                         "decode to exactly 0 (the presets: off)")):
    """Train every lightmap of DATA into one .tlm container (interrupt and rerun to resume)."""
    from .train_command import run_train

    key = parse_key(only)
    if preset not in ("fast", "default", "max"):
        raise typer.BadParameter("--preset is one of fast, default, max")
    if basis is not None and not 0 <= basis <= 64:
        raise typer.BadParameter("--basis is 0..64")
    if qat is not None and not 0.0 <= qat <= 1.0:
        raise typer.BadParameter("--qat is a fraction in [0, 1]")
    if hash_warmup is not None and not 0.0 <= hash_warmup < 1.0:
        raise typer.BadParameter("--hash-warmup is a fraction in [0, 1)")
    from todlm.format.model_config import parse_detail, parse_knot_residual, parse_value_domain

    for text, parse in ((value, parse_value_domain), (detail, parse_detail), (knot_residual, parse_knot_residual)):
        try:
            if text is not None:
                parse(text)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    try:
        run_train(data, out, preset, key, device, steps, seed, basis, qat, hash_top_levels, hash_capacity,
                  baseline_encoder, grid_bits, hash_warmup, value,
                  None if balance_frames is None else balance_frames.value, grid_channels, tile_psnr,
                  None if temporal_loss is None else temporal_loss.value, quant_finetune, detail, ssim_loss,
                  knot_residual, knot_residual_flip, None if mlp_weights is None else mlp_weights.value, mask_unlit)
    except KeyboardInterrupt:
        print(f"todlm train: interrupted; run the same command again to resume ({out.name}.work/)",
              file=sys.stderr)
        raise typer.Exit(130)


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
                                                          "parameters: the container with every section raw "
                                                          "(HPRC Parameters/, no general-purpose compression)")):
    """Unpack a .tlm container (the reverse of pack)."""
    from todlm.format.atomic import atomic_directory
    from todlm.format.unpacked import repack_raw, unpack as unpack_container

    if layout is Layout.dir:
        unpack_container(container, out)
    else:
        with atomic_directory(out) as tmp:
            repack_raw(container, tmp / container.name)
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


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"


@app.command()
def decode(container: Path = typer.Argument(..., help=".tlm file"),
           out: Path = typer.Option(..., "-o", "--out", help="EXR file (or a folder with --all-times)"),
           time_h: Optional[float] = typer.Option(None, "--time", help="hours in [0, 24]"),
           all_times: bool = typer.Option(False, "--all-times", help="every time the model was made for"),
           device: Device = typer.Option(Device.cpu, help="decoder backend"),
           lightmap: Optional[str] = typer.Option(None, help="LEVEL/ID when the container holds several")):
    """Decode frames of a container to EXR (no torch)."""
    from .decode_eval import run_decode

    if (time_h is None) == (not all_times):
        raise typer.BadParameter("give --time HOURS or --all-times")
    run_decode(container, out, time_h, all_times, device.value, parse_key(lightmap))
    err.print(f"wrote {out}")


class Protocol(str, Enum):
    hprc = "hprc"


@app.command("eval")
def evaluate(container: Path = typer.Argument(..., help=".tlm file"),
             data: Path = typer.Argument(..., help="ground truth: HPRC folder, sequence or EXR"),
             protocol: Protocol = typer.Option(Protocol.hprc, help="scoring rules"),
             device: Device = typer.Option(Device.cpu, help="decoder backend"),
             json_out: Optional[Path] = typer.Option(None, "--json", help="also write the report here")):
    """Decode a container with the torch-free decoder and score it against ground truth."""
    from .decode_eval import run_eval

    run_eval(container, data, device.value, json_out)


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
                                                          "rerun without --redo to resume")):
    """Benchmark todlm against fp16+zstd, ASTC HDR, PCA and interpolation, side by side; an
    interrupted run resumes from the rows already in --out."""
    from .bench_command import run_bench

    if suite not in ("quick", "full"):
        raise typer.BadParameter("--suite is quick or full")
    run_bench(suite, out or Path("bench/results") / f"{suite}.json", plot, data, only, preset, redo)


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


def main() -> None:
    try:
        app()
    except (FormatError, ValueError) as exc:
        print(f"todlm: error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("todlm: interrupted")
        sys.exit(130)
