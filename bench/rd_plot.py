"""Rate-distortion figures from a suite's results: per dataset, bpts vs HPRC PSNR and vs
HDR-FLIP for every method, and CPU decode ms vs bpts. todlm's presets (fast, default, max, small) make
its curve; its ablations are separate markers, since several share one rate."""

from pathlib import Path

from .presets import PRESET_RATE_POINTS

METRICS = (("psnr", "HPRC PSNR (dB)"), ("flip", "HDR-FLIP (lower is better)"), ("decode_ms_cpu", "CPU ms / frame"))


def plot_rd(results: dict, out: Path, datasets: list[str] | None = None, methods: tuple[str, ...] = ()) -> None:
    """One row of charts per dataset (`datasets`, else all), every method's rows (only `methods`,
    where given)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results["rows"] if r.get("bpts") is not None and (not methods or r["method"] in methods)]
    names = datasets or sorted({r["dataset"] for r in rows}, key=lambda n: (n != "sample", n))
    fig, axes = plt.subplots(len(names), len(METRICS), figsize=(5 * len(METRICS), 3.6 * len(names)), squeeze=False)
    methods = sorted({r["method"] for r in rows})
    colours = {m: plt.cm.tab10(i % 10) for i, m in enumerate(methods)}
    for row_axes, name in zip(axes, names):
        for ax, (metric, label) in zip(row_axes, METRICS):
            for method in methods:
                mine = [r for r in rows if r["dataset"] == name and r["method"] == method and r.get(metric) is not None]
                curve = sorted((r["bpts"], r[metric]) for r in mine
                               if method != "todlm" or r["preset"] in PRESET_RATE_POINTS)
                ablations = [(r["bpts"], r[metric]) for r in mine
                             if method == "todlm" and r["preset"] not in PRESET_RATE_POINTS]
                if curve:
                    xs, ys = zip(*curve)
                    ax.plot(xs, ys, "o-" if len(curve) > 1 else "o", color=colours[method], label=method, ms=4)
                if ablations:
                    xs, ys = zip(*ablations)
                    ax.plot(xs, ys, "x", color=colours[method], label=f"{method} ablations", ms=5)
            ax.set_xscale("log")
            if metric == "decode_ms_cpu":
                ax.set_yscale("log")
            ax.set_xlabel("bits per texel per time sample")
            ax.set_ylabel(label)
            ax.set_title(name, fontsize=9)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"todlm bench --suite {results.get('suite')} ({results.get('finished', '')})", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp" + out.suffix)
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(out)
