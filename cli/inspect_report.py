"""`todlm inspect`: what a container holds, how big each part is, whether its checksums hold."""

from pathlib import Path

from rich.console import Console
from rich.table import Table

from todlm.format.container import Container, ContainerError
from todlm.decoder.hprc_export import container_rate
from todlm.metrics.rate import bpts, hprc_ratio


def inspect_report(path: Path) -> dict:
    with Container.open(path) as c:
        lightmaps = []
        for lm in c.lightmaps:
            sections = []
            for name, s in lm.sections.items():
                try:
                    c.read_section(s)
                    status = "ok"
                except ContainerError as exc:
                    status = exc.problem
                sections.append({"name": name, "dtype": s.dtype, "shape": list(s.shape), "codec": s.codec,
                                 "raw_bytes": s.nbytes, "stored_bytes": s.length, "checksum": status,
                                 "quant": s.entry.get("quant", {}).get("scheme") if s.quant else None})
            lightmaps.append({
                "level": lm.level, "id": lm.id, "name": lm.name, "width": lm.width, "height": lm.height,
                "times": len(lm.times), "stored_bytes": lm.stored_bytes, "raw_bytes": lm.raw_bytes,
                "bpts": bpts(lm.stored_bytes, lm.width, lm.height, len(lm.times)),
                "hprc_ratio": hprc_ratio(lm.raw_bytes, [(lm.height, lm.width)]),
                "metadata": lm.metadata, "sections": sections})
        rate = container_rate(path) if c.lightmaps else {"bpts": 0.0, "ratio": 0.0}
        return {"file": str(path), "bytes": path.stat().st_size, "bpts": rate["bpts"], "hprc_ratio": rate["ratio"],
                "version": ".".join(map(str, c.version)),
                "producer": c.producer, "toc_bytes": c.toc_length, "metadata": c.metadata,
                "lightmaps": lightmaps,
                "checksums_ok": all(s["checksum"] == "ok" for lm in lightmaps for s in lm["sections"])}


def print_report(report: dict, console: Console) -> None:
    console.print(f"[bold]{report['file']}[/bold]: {report['bytes']} bytes, {report['bpts']:.3f} bpts, HPRC ratio "
                  f"{report['hprc_ratio']:.5f}; .tlm {report['version']}, producer {report['producer']!r}, table of "
                  f"contents {report['toc_bytes']} bytes, {len(report['lightmaps'])} lightmap(s)")
    if report["metadata"]:
        console.print(f"metadata: {report['metadata']}", markup=False)
    for lm in report["lightmaps"]:
        table = Table(title=f"{lm['level']}/{lm['id']} ({lm['name']}): {lm['width']}x{lm['height']}, "
                            f"{lm['times']} times; its sections: {lm['bpts']:.3f} bpts stored, HPRC ratio "
                            f"{lm['hprc_ratio']:.5f} raw", title_justify="left")
        for col in ("section", "dtype", "shape", "codec", "quant", "raw bytes", "stored bytes", "checksum"):
            table.add_column(col, justify="right" if "bytes" in col else "left")
        for s in lm["sections"]:
            table.add_row(s["name"], s["dtype"], "x".join(map(str, s["shape"])) or "scalar", s["codec"],
                          s["quant"] or "-", str(s["raw_bytes"]), str(s["stored_bytes"]),
                          "ok" if s["checksum"] == "ok" else f"[red]{s['checksum']}[/red]")
        table.add_row("total", "", "", "", "", str(lm["raw_bytes"]), str(lm["stored_bytes"]), "")
        console.print(table)
        if lm["metadata"]:
            console.print(f"model metadata: {lm['metadata']}", markup=False)
