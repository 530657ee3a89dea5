"""../shared/data/unity-multi as short lighting sequences: within a set, texel (x, y) is the
same surface in every condition, so each condition becomes one "time". Conditions get times
spread over the day with the lamps off (8:00 .. 16:00), since nothing says which are lit."""

from pathlib import Path

import numpy as np

from todlm.format.lightmap_set import LightmapSet, coverage_from_values
from todlm.format.sequence import read_frame


def unity_sequences(root: Path) -> list[LightmapSet]:
    """One sequence per set: its first atlas across the set's conditions (sub-folders, or the
    set's own .exr files where it has no sub-folders)."""
    sets = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        conditions = sorted(p for p in folder.iterdir() if p.is_dir())
        if conditions:
            atlas = sorted(conditions[0].glob("*.exr"))[0].name
            paths = [c / atlas for c in conditions if (c / atlas).is_file()]
        else:
            paths = sorted(folder.glob("*.exr"))
        frames = np.stack([read_frame(p) for p in paths])
        times = np.linspace(8.0, 16.0, len(paths)) if len(paths) > 1 else np.array([12.0])
        sets.append(LightmapSet(frames, times, np.broadcast_to(coverage_from_values(frames).any(0), frames.shape[:3]),
                                name=f"{folder.name}/{atlas}" if conditions else folder.name,
                                level=folder.name, id=0, source=str(folder)))
    return sets
