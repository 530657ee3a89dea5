"""A level trained as Ray tasks (groups of lightmaps) on a local runtime writes the same file as
one process, also when a worker dies mid-run (Ray retries its task; the work folder keeps what was
done)."""

import os
import subprocess
import sys

import pytest

from conftest import container_contents, run_cli
from todlm.bench.level import build_level
from todlm.format.sample import load_sample

KILL_ONCE = '''import os
real_replace = os.replace


def replace(src, dst, *args, **kwargs):
    marker = os.environ.get("TODLM_TEST_KILL_MARKER")
    if marker and str(dst).endswith(".tlm") and ".work" in str(dst) and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)  # the worker dies as it would put its first finished lightmap in place
    return real_replace(src, dst, *args, **kwargs)


os.replace = replace
'''
ARGS = ("--preset", "fast", "--steps", "12", "--set", "train.group=2")  # 3 lightmaps: tasks of 2 and 1


@pytest.fixture(scope="module")
def level(tmp_path_factory):
    root = tmp_path_factory.mktemp("ray")
    build_level(root / "level", {(32, 16): 3}, seed=2, bakes=[load_sample().train])
    done = run_cli("train", root / "level", "-o", root / "one.tlm", *ARGS)
    assert done.returncode == 0, done.stderr
    return root


def test_ray_workers_write_the_one_process_file_even_when_a_worker_dies(level, tmp_path):
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(KILL_ONCE)
    marker = tmp_path / "killed"
    env = {"PYTHONPATH": str(tmp_path / "hook"), "TODLM_TEST_KILL_MARKER": str(marker)}
    done = subprocess.run([sys.executable, "-m", "todlm.cli", "train", str(level / "level"), "-o",
                           str(tmp_path / "ray.tlm"), *ARGS, "--workers", "2"], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert marker.exists()  # a worker did die, and its task ran again
    assert container_contents(tmp_path / "ray.tlm") == container_contents(level / "one.tlm")
    assert not (tmp_path / "ray.tlm.work").exists()


def test_workers_without_ray_is_one_line(level, tmp_path):
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(
        "import sys\n\n\nclass NoRay:\n    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'ray' or name.startswith('ray.'):\n            raise ImportError(name)\n\n\n"
        "sys.meta_path.insert(0, NoRay())\n")
    done = subprocess.run([sys.executable, "-m", "todlm.cli", "train", str(level / "level"), "-o",
                           str(tmp_path / "x.tlm"), *ARGS, "--workers", "2"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tmp_path / "hook")}, timeout=300)
    assert done.returncode == 1 and "needs Ray" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.tlm").exists() and not (tmp_path / "x.tlm.work").exists()
