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


def not_implemented(command: str) -> None:
    print(f"todlm {command}: not implemented yet", file=sys.stderr)
    raise typer.Exit(2)


@app.command()
def train(data: Path = typer.Argument(..., help="HPRC folder (config.json), sequence (manifest.json) or EXR/.hdr"),
          out: Path = typer.Option(..., "-o", "--out", help="the .tlm container to write"),
          preset: str = typer.Option("default", help="fast | default | max"),
          only: Optional[str] = typer.Option(None, help="train one lightmap: LEVEL/ID"),
          device: str = typer.Option("cpu", help="cpu or cuda (torch device for training)"),
          steps: Optional[int] = typer.Option(None, help="override the preset's step count"),
          seed: Optional[int] = typer.Option(None, help="override the preset's seed")):
    """Train every lightmap of DATA into one .tlm container (interrupt and rerun to resume)."""
    from .train_command import run_train

    key = None
    if only is not None:
        level, _, lid = only.rpartition("/")
        if not level or not lid.lstrip("-").isdigit():
            raise typer.BadParameter("--only takes LEVEL/ID, e.g. L_Courtyard256/0")
        key = (level, int(lid))
    if preset not in ("fast", "default", "max"):
        raise typer.BadParameter("--preset is one of fast, default, max")
    try:
        run_train(data, out, preset, key, device, steps, seed)
    except KeyboardInterrupt:
        print(f"todlm train: interrupted; run the same command again to resume ({out.name}.work/)",
              file=sys.stderr)
        raise typer.Exit(130)
    except ValueError as exc:
        print(f"todlm: error: {exc}", file=sys.stderr)
        raise typer.Exit(1)


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


@app.command()
def decode(container: Path = typer.Argument(..., help=".tlm file")):
    """Decode frames of a container to EXR."""
    not_implemented("decode")


@app.command("eval")
def evaluate(container: Path = typer.Argument(..., help=".tlm file"),
             data: Path = typer.Argument(..., help="ground truth")):
    """Evaluate a container against ground truth (HPRC protocol)."""
    not_implemented("eval")


@app.command()
def bench():
    """Benchmark todlm against the alternatives."""
    not_implemented("bench")


@app.command()
def export(target: str = typer.Argument(..., help="hprc"),
           container: Path = typer.Argument(..., help=".tlm file")):
    """Export a container for a consumer (HPRC submission folder)."""
    not_implemented("export")


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
         flip: bool = typer.Option(True, help="compute HDR-FLIP (about 0.3 s per frame)")):
    """Run the whole pipeline on the bundled sample and print its metrics."""
    from .demo import run_demo

    run_demo(out, with_flip=flip)


def main() -> None:
    try:
        app()
    except FormatError as exc:
        print(f"todlm: error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("todlm: interrupted")
        sys.exit(130)
