"""Bake the bundled time-of-day lightmap sample with Blender Cycles (PyPI `bpy`, 4.5.x).

A small courtyard is built procedurally (ground, buildings, walls, an arcade, trees, street
lamps), all static geometry is joined into ONE mesh with one lightmap UV atlas, and Cycles
bakes its diffuse lighting (direct + indirect, no albedo) for the 26 HPRC times and 8
unseen times. The sun follows a solar path with a matching Nishita sky; a dim moon lights
the night; warm street lamps are on for t < 6 and t > 18.

    python -m venv /tmp/bpyenv && /tmp/bpyenv/bin/pip install "bpy==4.5.*" zstandard
    /tmp/bpyenv/bin/python bench/scenes/bake_tod.py --cache /tmp/tod_bake

Each baked frame is cached as .npy in --cache, so an interrupted bake resumes where it
stopped. At the end the frames are written to format/data/tod_sample.zst (the package data
behind `todlm demo`) and the settings to format/data/tod_sample.json.
"""

import argparse
import importlib.util
import json
import math
import sys
import time
from pathlib import Path

import bpy
import bmesh  # only importable after bpy
import numpy as np
from mathutils import Vector

REPO = Path(__file__).resolve().parents[2]
TRAIN_TIMES = [float(h) for h in range(24)] + [5.9, 18.1]
UNSEEN_TIMES = [0.5, 6.5, 9.25, 12.5, 15.75, 17.5, 18.5, 21.5]
LATITUDE_DEG = 40.0
DECLINATION_DEG = 10.0
SUN_STRENGTH = 4.0
SKY_STRENGTH = 0.3
MOON_STRENGTH = 0.04
LAMP_POWER_W = 400.0
LAMP_COLOR = (1.0, 0.62, 0.32)
LAMP_POSITIONS = [(-6.0, -8.0), (6.0, -8.0), (-6.0, 6.0), (6.0, 6.0), (0.0, -1.0)]


def lamps_on(t: float) -> bool:
    return t < 6.0 or t > 18.0


def sun_vector(t: float) -> Vector:
    """Unit vector towards the sun in (east, north, up) = Blender (x, y, z)."""
    lat, dec = math.radians(LATITUDE_DEG), math.radians(DECLINATION_DEG)
    hour_angle = math.radians(15.0 * (t - 12.0))
    east = -math.cos(dec) * math.sin(hour_angle)
    north = math.sin(dec) * math.cos(lat) - math.cos(dec) * math.sin(lat) * math.cos(hour_angle)
    up = math.sin(dec) * math.sin(lat) + math.cos(dec) * math.cos(lat) * math.cos(hour_angle)
    return Vector((east, north, up)).normalized()


def smoothstep(e0: float, e1: float, x: float) -> float:
    k = min(max((x - e0) / (e1 - e0), 0.0), 1.0)
    return k * k * (3.0 - 2.0 * k)


def add_box(name, center, size, material):
    bpy.ops.mesh.primitive_cube_add(size=1.0, location=center)
    obj = bpy.context.active_object
    obj.name = name
    obj.scale = size
    obj.data.materials.append(material)
    return obj


def add_tree(x, y, material_trunk, material_leaves):
    bpy.ops.mesh.primitive_cylinder_add(vertices=8, radius=0.25, depth=3.0, location=(x, y, 1.5))
    trunk = bpy.context.active_object
    trunk.data.materials.append(material_trunk)
    bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=2, radius=2.0, location=(x, y, 4.2))
    crown = bpy.context.active_object
    crown.data.materials.append(material_leaves)
    return [trunk, crown]


def diffuse_material(name, color):
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes = mat.node_tree.nodes
    nodes.clear()
    bsdf = nodes.new("ShaderNodeBsdfDiffuse")
    bsdf.inputs["Color"].default_value = (*color, 1.0)
    out = nodes.new("ShaderNodeOutputMaterial")
    mat.node_tree.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    return mat


def build_scene():
    """Static courtyard geometry joined into one atlas mesh."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    ground = diffuse_material("ground", (0.45, 0.42, 0.38))
    wall = diffuse_material("wall", (0.75, 0.65, 0.55))
    roof = diffuse_material("roof", (0.5, 0.3, 0.25))
    bark = diffuse_material("bark", (0.3, 0.22, 0.15))
    leaves = diffuse_material("leaves", (0.2, 0.4, 0.12))
    metal = diffuse_material("metal", (0.2, 0.2, 0.22))
    parts = [add_box("ground", (0, 0, -0.05), (36, 36, 0.1), ground)]
    parts.append(add_box("house_west", (-14, 0, 5), (6, 22, 10), wall))
    parts.append(add_box("house_north", (0, 14, 3.5), (22, 6, 7), wall))
    parts.append(add_box("tower_east", (13, -5, 7), (6, 8, 14), wall))
    parts.append(add_box("roof_north", (0, 14, 7.2), (22.4, 6.4, 0.4), roof))
    parts.append(add_box("wall_south", (-4, -16, 0.9), (18, 0.4, 1.8), wall))
    parts.append(add_box("wall_east", (13, 7, 1.2), (0.4, 10, 2.4), wall))
    for i in range(6):
        parts.append(add_box(f"pillar{i}", (-9.0, -9 + 3.6 * i, 1.6), (0.5, 0.5, 3.2), wall))
    parts.append(add_box("arcade_roof", (-10.2, 0, 3.35), (2.9, 22, 0.3), roof))
    for x, y in [(3, -6), (-2, 5), (7, 2)]:
        parts.extend(add_tree(x, y, bark, leaves))
    for x, y in LAMP_POSITIONS:
        bpy.ops.mesh.primitive_cylinder_add(vertices=6, radius=0.08, depth=3.2, location=(x, y, 1.6))
        post = bpy.context.active_object
        post.data.materials.append(metal)
        parts.append(post)
    bpy.ops.object.select_all(action="DESELECT")
    for obj in parts:
        obj.select_set(True)
    bpy.context.view_layer.objects.active = parts[0]
    bpy.ops.object.transform_apply(location=False, rotation=True, scale=True)
    bpy.ops.object.join()
    atlas = bpy.context.active_object
    atlas.name = "atlas"
    drop_hidden_bottoms(atlas)
    return atlas


def drop_hidden_bottoms(atlas):
    """Remove downward faces resting on the ground: never lit, they would waste atlas space."""
    bm = bmesh.new()
    bm.from_mesh(atlas.data)
    hidden = [f for f in bm.faces if f.normal.z < -0.9 and f.calc_center_median().z < 0.05]
    bmesh.ops.delete(bm, geom=hidden, context="FACES")
    bm.to_mesh(atlas.data)
    bm.free()


def unwrap(atlas, margin: float):
    bpy.ops.object.mode_set(mode="EDIT")
    bpy.ops.mesh.select_all(action="SELECT")
    bpy.ops.uv.smart_project(angle_limit=math.radians(66.0), island_margin=margin, area_weight=1.0)
    bpy.ops.uv.pack_islands(rotate=True, margin=margin)
    bpy.ops.object.mode_set(mode="OBJECT")


def coverage_mask(atlas, size: int) -> np.ndarray:
    """Texels whose centre lies inside a UV triangle, or that hold a triangle corner."""
    mesh = atlas.data
    mesh.calc_loop_triangles()
    uv = np.empty(len(mesh.loops) * 2, np.float64)
    mesh.uv_layers.active.data.foreach_get("uv", uv)
    uv = uv.reshape(-1, 2) * size
    tris = np.empty(len(mesh.loop_triangles) * 3, np.int64)
    mesh.loop_triangles.foreach_get("loops", tris)
    mask = np.zeros((size, size), bool)
    for a, b, c in uv[tris.reshape(-1, 3)]:
        x0, y0 = np.floor(np.minimum(np.minimum(a, b), c)).astype(int)
        x1, y1 = np.ceil(np.maximum(np.maximum(a, b), c)).astype(int)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, size), min(y1, size)
        if x1 <= x0 or y1 <= y0:
            continue
        px, py = np.meshgrid(np.arange(x0, x1) + 0.5, np.arange(y0, y1) + 0.5)
        d = (b[1] - c[1]) * (a[0] - c[0]) + (c[0] - b[0]) * (a[1] - c[1])
        if abs(d) < 1e-12:
            inside = np.zeros_like(px, bool)
        else:
            l0 = ((b[1] - c[1]) * (px - c[0]) + (c[0] - b[0]) * (py - c[1])) / d
            l1 = ((c[1] - a[1]) * (px - c[0]) + (a[0] - c[0]) * (py - c[1])) / d
            inside = (l0 >= 0) & (l1 >= 0) & (l0 + l1 <= 1)
        mask[y0:y1, x0:x1] |= inside
        for p in (a, b, c):
            mask[min(int(p[1]), size - 1), min(int(p[0]), size - 1)] = True
    return mask[::-1].copy()


def dilate(mask: np.ndarray, steps: int) -> np.ndarray:
    out = mask.copy()
    for _ in range(steps):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def setup_bake_target(atlas, size: int):
    image = bpy.data.images.new("lightmap", size, size, alpha=False, float_buffer=True)
    image.colorspace_settings.name = "Non-Color"
    for mat in atlas.data.materials:
        node = mat.node_tree.nodes.new("ShaderNodeTexImage")
        node.image = image
        mat.node_tree.nodes.active = node
    return image


def setup_lights():
    world = bpy.data.worlds.new("world")
    bpy.context.scene.world = world
    world.use_nodes = True
    nodes = world.node_tree.nodes
    nodes.clear()
    sky = nodes.new("ShaderNodeTexSky")
    sky.sky_type = "NISHITA"
    sky.sun_disc = False
    sky_bg = nodes.new("ShaderNodeBackground")
    sky_bg.inputs["Strength"].default_value = SKY_STRENGTH
    night_bg = nodes.new("ShaderNodeBackground")
    night_bg.inputs["Color"].default_value = (0.02, 0.03, 0.06, 1.0)
    night_bg.inputs["Strength"].default_value = 0.05
    add = nodes.new("ShaderNodeAddShader")
    out = nodes.new("ShaderNodeOutputWorld")
    links = world.node_tree.links
    links.new(sky.outputs["Color"], sky_bg.inputs["Color"])
    links.new(sky_bg.outputs["Background"], add.inputs[0])
    links.new(night_bg.outputs["Background"], add.inputs[1])
    links.new(add.outputs["Shader"], out.inputs["Surface"])

    def sun_light(name, color):
        light = bpy.data.lights.new(name, "SUN")
        light.color = color
        light.angle = math.radians(0.6)
        obj = bpy.data.objects.new(name, light)
        bpy.context.scene.collection.objects.link(obj)
        return obj

    sun = sun_light("sun", (1.0, 0.96, 0.9))
    moon = sun_light("moon", (0.6, 0.7, 1.0))
    moon.rotation_euler = (-Vector((-0.3, 0.4, 0.85))).to_track_quat("-Z", "Y").to_euler()
    lamps = []
    for i, (x, y) in enumerate(LAMP_POSITIONS):
        light = bpy.data.lights.new(f"lamp{i}", "POINT")
        light.color = LAMP_COLOR
        light.shadow_soft_size = 0.15
        obj = bpy.data.objects.new(f"lamp{i}", light)
        obj.location = (x, y, 3.4)
        bpy.context.scene.collection.objects.link(obj)
        lamps.append(obj)
    return sky, sun, moon, lamps


def set_time(t, sky, sun, moon, lamps):
    s = sun_vector(t)
    elevation = math.asin(max(-1.0, min(1.0, s.z)))
    sky.sun_elevation = elevation
    sky.sun_rotation = math.atan2(s.x, s.y) % (2 * math.pi)
    sun.rotation_euler = (-s).to_track_quat("-Z", "Y").to_euler()
    # Fade the sun through the horizon so dawn and dusk change smoothly.
    sun.data.energy = SUN_STRENGTH * smoothstep(-0.02, 0.12, s.z)
    moon.data.energy = MOON_STRENGTH * (1.0 - smoothstep(-0.1, 0.05, s.z))
    for lamp in lamps:
        lamp.data.energy = LAMP_POWER_W if lamps_on(t) else 0.0


def bake_frame(image, size: int, margin_px: int) -> np.ndarray:
    bpy.ops.object.bake(type="DIFFUSE", pass_filter={"DIRECT", "INDIRECT"}, margin=margin_px,
                        use_clear=True, target="IMAGE_TEXTURES")
    px = np.empty(size * size * 4, np.float32)
    image.pixels.foreach_get(px)
    return px.reshape(size, size, 4)[::-1, :, :3].copy()


def load_sample_codec():
    spec = importlib.util.spec_from_file_location("sample_codec", REPO / "format" / "sample_codec.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, required=True, help="folder for per-frame .npy (resumable)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--bounces", type=int, default=4)
    ap.add_argument("--margin-px", type=int, default=2)
    ap.add_argument("--uv-margin", type=float, default=0.02)
    ap.add_argument("--times", type=str, default="", help="comma list to bake only these (testing)")
    ap.add_argument("--out", type=Path, default=REPO / "format" / "data")
    args = ap.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)

    atlas = build_scene()
    unwrap(atlas, args.uv_margin)
    image = setup_bake_target(atlas, args.size)
    sky, sun, moon, lamps = setup_lights()
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = args.samples
    scene.cycles.max_bounces = args.bounces
    scene.cycles.diffuse_bounces = args.bounces
    scene.cycles.seed = 7
    bpy.ops.object.select_all(action="DESELECT")
    atlas.select_set(True)
    bpy.context.view_layer.objects.active = atlas

    mask = coverage_mask(atlas, args.size)
    times = [float(x) for x in args.times.split(",")] if args.times else TRAIN_TIMES + UNSEEN_TIMES
    seconds = {}
    for i, t in enumerate(times):
        path = args.cache / f"frame_{round(t * 100):04d}.npy"
        if path.exists():
            continue
        set_time(t, sky, sun, moon, lamps)
        start = time.perf_counter()
        frame = bake_frame(image, args.size, args.margin_px)
        seconds[t] = time.perf_counter() - start
        np.save(path.with_suffix(".tmp.npy"), frame)
        path.with_suffix(".tmp.npy").rename(path)
        print(f"[{i + 1}/{len(times)}] t={t:5.2f} baked in {seconds[t]:.1f}s  max={frame.max():.3g}", flush=True)
    if args.times:
        return 0

    frames = np.stack([np.load(args.cache / f"frame_{round(t * 100):04d}.npy") for t in times])
    # The judge zeroes invalid texels of a reconstruction while the GT keeps its values, so
    # the mask must cover the bake's dilated margin too: then every invalid texel is 0.
    mask = dilate(mask, args.margin_px + 1) | (frames != 0).any(axis=(0, 3))
    masks = np.broadcast_to(mask, frames.shape[:3])
    settings = {
        "generator": "bench/scenes/bake_tod.py",
        "blender": bpy.app.version_string,
        "engine": "CYCLES", "device": "CPU", "bake_type": "DIFFUSE",
        "pass_filter": ["DIRECT", "INDIRECT"], "samples": args.samples, "bounces": args.bounces,
        "size": args.size, "bake_margin_px": args.margin_px, "uv_island_margin": args.uv_margin,
        "latitude_deg": LATITUDE_DEG, "declination_deg": DECLINATION_DEG,
        "sun_strength": SUN_STRENGTH, "sky": "NISHITA", "sky_strength": SKY_STRENGTH,
        "moon_strength": MOON_STRENGTH, "lamp_power_w": LAMP_POWER_W, "lamp_color": LAMP_COLOR,
        "lamp_rule": "on for t < 6 and t > 18", "stored_dtype": "float16",
        "mask": "UV-island coverage dilated by the bake margin + 1 texel, plus every texel the bake wrote",
        "coverage_fraction": float(mask.mean()),
    }
    meta = {
        "name": "courtyard256", "level": "L_Courtyard256", "id": 0,
        "times": times, "split": ["train"] * len(TRAIN_TIMES) + ["unseen"] * len(UNSEEN_TIMES),
        "bake": settings,
    }
    codec = load_sample_codec()
    blob = codec.encode_sample(frames, masks, meta)
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = args.out / "tod_sample.zst.tmp"
    tmp.write_bytes(blob)
    tmp.rename(args.out / "tod_sample.zst")
    (args.out / "tod_sample.json").write_text(json.dumps(settings, indent=2) + "\n")
    print(f"wrote {args.out / 'tod_sample.zst'} ({len(blob) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] if "--" not in sys.argv else sys.argv[sys.argv.index("--") + 1:]))
