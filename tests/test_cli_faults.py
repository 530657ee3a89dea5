"""Faults while writing: a full disk, a read-only folder or a folder where a file goes, at the
moment each command puts its output in place. Every command answers with one line naming the
path, exits 1, and leaves neither its output nor a temporary file behind (this runs as root, where
permissions do not bite, so the faults are injected at the rename every output goes through)."""

import errno
import os

import pytest

from conftest import run_cli


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    assert run_cli("sample", "--hprc", root / "hprc").returncode == 0
    done = run_cli("train", root / "hprc", "-o", root / "m.tlm", "--preset", "fast", "--steps", "3")
    assert done.returncode == 0, done.stderr
    assert run_cli("unpack", root / "m.tlm", "-o", root / "unpacked").returncode == 0
    return root


FAULTS = {"disk full": (errno.ENOSPC, "No space left on device"), "read-only": (errno.EROFS, "Read-only file system"),
          "permission": (errno.EACCES, "Permission denied")}


def commands(root, out):
    return {"train": ("train", root / "hprc", "-o", out / "t.tlm", "--preset", "fast", "--steps", "2"),
            "pack": ("pack", root / "unpacked", "-o", out / "packed.tlm"),
            "decode exr": ("decode", root / "m.tlm", "--time", "3", "-o", out / "f.exr"),
            "decode png": ("decode", root / "m.tlm", "--time", "3", "-o", out / "f.png"),
            "decode all": ("decode", root / "m.tlm", "--all-times", "-o", out / "frames"),
            "unpack": ("unpack", root / "m.tlm", "-o", out / "u"),
            "unpack parameters": ("unpack", root / "m.tlm", "-o", out / "p", "--layout", "parameters"),
            "export": ("export", "hprc", root / "m.tlm", "-o", out / "sub"),
            "eval json": ("eval", root / "m.tlm", root / "hprc", "--json", out / "e.json", "--no-flip"),
            "sample": ("sample", "--hprc", out / "hprc")}


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("command", ["train", "pack", "decode exr", "decode png", "decode all", "unpack",
                                     "unpack parameters", "export", "eval json", "sample"])
def test_a_write_fault_is_one_line_and_leaves_nothing(artifact, tmp_path, monkeypatch, command, fault):
    out = tmp_path / "out"
    out.mkdir()
    code, text = FAULTS[fault]
    real_replace = os.replace

    def failing_replace(src, dst, *args, **kwargs):
        if str(dst).startswith(str(out)) and ".work" not in str(dst):  # the output itself, not resume state
            raise OSError(code, text, str(src), None, str(dst))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing_replace)
    done = run_cli(*commands(artifact, out)[command])
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    said = [line for line in done.stderr.splitlines() if not line.startswith("todlm train: ")]  # progress lines
    assert len(said) == 1 and said[0].startswith("todlm: error: ") and text in said[0] and str(out) in said[0], said
    left = [p.name for p in out.iterdir() if not p.name.endswith(".work")]
    assert left == [], left


def test_pack_onto_a_folder_and_decode_into_one_are_one_line(artifact, tmp_path):
    (tmp_path / "taken").mkdir()
    assert run_cli("unpack", artifact / "m.tlm", "-o", tmp_path / "u").returncode == 0
    for args in (("pack", tmp_path / "u", "-o", tmp_path / "taken"),
                 ("decode", artifact / "m.tlm", "--time", "3", "-o", tmp_path / "taken" / "..", "--dilate", "1"),
                 ("inspect", tmp_path / "taken"), ("decode", tmp_path / "taken", "--time", "3", "-o", tmp_path / "f.exr")):
        done = run_cli(*args)
        assert done.returncode == 1, (args, done.stderr)
        assert "Traceback" not in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken", "u"]


KILL_AT_RENAME = '''import os, signal
real_replace = os.replace


def replace(src, dst, *args, **kwargs):
    if str(dst).endswith("packed.tlm"):
        os.kill(os.getpid(), signal.SIGKILL)  # the process dies as it would put the output in place
    return real_replace(src, dst, *args, **kwargs)


os.replace = replace
'''


def test_a_process_killed_at_the_final_rename_leaves_the_old_output_whole(artifact, tmp_path):
    import subprocess
    import sys

    assert run_cli("unpack", artifact / "m.tlm", "-o", tmp_path / "u").returncode == 0
    out = tmp_path / "packed.tlm"
    out.write_bytes(b"the previous output")
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(KILL_AT_RENAME)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "hook"), os.environ.get("PYTHONPATH", "")]))
    killed = subprocess.run([sys.executable, "-m", "todlm.cli", "pack", str(tmp_path / "u"), "-o", str(out)],
                            env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9
    assert out.read_bytes() == b"the previous output"  # never half-written: the old file or the new one
    assert run_cli("pack", tmp_path / "u", "-o", out).returncode == 0 and out.read_bytes()[:4] == b"\x89TLM"


def test_cuda_on_a_machine_without_a_gpu_is_one_line(artifact, tmp_path):
    import torch
    from numba import cuda

    if torch.cuda.is_available() or cuda.is_available():
        pytest.skip("this machine has a GPU")
    for args, said in ((("train", artifact / "hprc", "-o", tmp_path / "t.tlm", "--device", "cuda"), "torch sees no"),
                       (("decode", artifact / "m.tlm", "--time", "3", "-o", tmp_path / "f.exr", "--device", "cuda"),
                        "numba finds no")):
        done = run_cli(*args)
        assert done.returncode == 1 and said in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
