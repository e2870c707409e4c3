"""Ray for the cluster tests: the inputs, the local reference run, a two-node cluster on this machine, clean-up.

Every job here is a real command line in a child interpreter (``python inference_realesrgan.py ... --ray``), run from
this checkout. The two-node cluster is two raylets started with ``ray start`` on this machine, each with one CPU,
with token authentication and a temporary folder of its own; everything it started is ended afterwards (its process
trees, found by that folder), whatever the test did. Ray 2.x on Linux names a multi-node cluster's nodes by the
machine's own address even when asked for 127.0.0.1, so its traffic stays on this machine but not on the loopback.
"""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Tuple

import cv2
import pytest
from benchlib.processes import end_process_trees  # benchmarks/ is on pytest's pythonpath
from helpers import INPUTS, REPO_ROOT, WEIGHTS_DIR, official_weights

IMAGE_MODEL = 'RealESRGAN_x4plus_anime_6B'
VIDEO_MODEL = 'realesr-animevideov3'
NUM_IMAGES = 12
IMAGE_SIZE = 64
CLIP_SIZE = (64, 48)
CLIP_FRAMES = 48  # 2 seconds at 24 fps: 4 segments of 12 frames


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def child_env(**extra: str) -> Dict[str, str]:
    """The environment of the child interpreters: this checkout first, no Ray address from outside."""
    env = {key: value for key, value in os.environ.items() if key != 'RAY_ADDRESS'}
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get('PYTHONPATH')]))
    env.update(extra)
    return env


def image_args(source: Path, output: Path, *extra: str) -> List[str]:
    """The image command line of these tests (fp32: the original's pixels, the same on every node)."""
    return [
        'inference_realesrgan.py',
        '-n',
        IMAGE_MODEL,
        '--weights_dir',
        str(WEIGHTS_DIR),
        '-i',
        str(source),
        '-o',
        str(output),
        '--fp32',
        '--device',
        'cpu',
        *extra,
    ]


def video_args(clip: Path, output: Path, *extra: str) -> List[str]:
    """The video command line of these tests."""
    return [
        'inference_realesrgan_video.py',
        '-n',
        VIDEO_MODEL,
        '--weights_dir',
        str(WEIGHTS_DIR),
        '-i',
        str(clip),
        '-o',
        str(output),
        '-s',
        '2',
        '--fp32',
        '--device',
        'cpu',
        *extra,
    ]


def run_cli(args: List[str], env: Dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    """Run one command line of this checkout to its end; stdout and stderr as text."""
    return subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def outputs(folder: Path) -> Dict[str, Tuple[int, int]]:
    """The finished files under ``folder`` (hidden temporary ones left out), with their inode and mtime."""
    if not folder.exists():
        return {}
    return {
        str(path.relative_to(folder)): (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in folder.rglob('*')
        if path.is_file() and not path.name.startswith('.')
    }


def assert_same_files(folder: Path, reference: Path) -> None:
    """``folder`` holds exactly the files of ``reference``, byte for byte, and nothing hidden (no temporary file)."""
    assert sorted(outputs(folder)) == sorted(outputs(reference))
    for name in outputs(reference):
        assert (folder / name).read_bytes() == (reference / name).read_bytes(), name
    assert [path.name for path in folder.rglob('.*')] == []


def nodes_that_worked(stdout: str) -> Dict[str, int]:
    """The ``Ray nodes: <id> <items>, ...`` line of a job, as ``{node: items}``."""
    lines = [line for line in stdout.splitlines() if line.startswith('Ray nodes: ')]
    assert len(lines) == 1, stdout
    pairs = [entry.split() for entry in lines[0][len('Ray nodes: ') :].split(', ')]
    return {node: int(count) for node, count in pairs}


@pytest.fixture(scope='session')
def inputs(tmp_path_factory) -> Tuple[Path, Path]:
    """A folder of 12 small images (crops of the sample photos) and a 2-second clip with an AAC tone."""
    from realesrgan.video.sample_clip import panning_frames, write_clip

    official_weights(IMAGE_MODEL)
    official_weights(VIDEO_MODEL)
    root = tmp_path_factory.mktemp('cluster_inputs')
    folder = root / 'images'
    folder.mkdir()
    photos = [cv2.imread(str(INPUTS / name)) for name in ('astronaut.png', 'chelsea.jpg')]
    for k in range(NUM_IMAGES):
        top, left = 4 * k, 6 * k
        crop = photos[k % 2][top : top + IMAGE_SIZE, left : left + IMAGE_SIZE]
        assert cv2.imwrite(str(folder / f'crop{k:02d}.png'), crop)
    clip = Path(write_clip(str(root / 'clip.mp4'), list(panning_frames(photos[1], CLIP_SIZE, CLIP_FRAMES)), fps=24))
    return folder, clip


@pytest.fixture(scope='session')
def reference(inputs, tmp_path_factory) -> Tuple[Path, Path]:
    """The outputs of the local command lines (no Ray) for :func:`inputs`: the image folder and the video file."""
    folder, clip = inputs
    root = tmp_path_factory.mktemp('cluster_reference')
    for args in (image_args(folder, root / 'images'), video_args(clip, root / 'video')):
        result = run_cli(args, child_env())
        assert result.returncode == 0, result.stderr
    return root / 'images', root / 'video'


class Cluster(NamedTuple):
    """A running two-node cluster: its address, the environment its drivers need (the token), its folder."""

    address: str
    env: Dict[str, str]
    temp_dir: str


@pytest.fixture(scope='module')
def two_nodes() -> Iterator[Cluster]:
    """Two Ray nodes on this machine (a head and one more raylet), one CPU each; ended afterwards."""
    temp_dir = tempfile.mkdtemp(prefix='rayt', dir='/tmp')  # short: Ray's socket paths live under it
    port = free_port()
    env = child_env(RAY_AUTH_MODE='token', RAY_AUTH_TOKEN=secrets.token_hex(32))
    common = ['--num-cpus', '1', '--node-ip-address', '127.0.0.1', '--temp-dir', temp_dir, '--disable-usage-stats']
    head = [
        '--head',
        '--port',
        str(port),
        '--include-dashboard',
        'false',
        '--ray-client-server-port',
        str(free_port()),
    ]
    ray_command = [sys.executable, '-m', 'ray.scripts.scripts', 'start']
    try:
        for extra in (head, ['--address', f'127.0.0.1:{port}']):
            started = subprocess.run(
                [*ray_command, *extra, *common], env=env, capture_output=True, text=True, timeout=180
            )
            assert started.returncode == 0, started.stdout + started.stderr
        deadline = time.monotonic() + 60
        while _alive_nodes(port, env) < 2:
            assert time.monotonic() < deadline, 'the second node did not join'
            time.sleep(1)
        yield Cluster(f'127.0.0.1:{port}', env, temp_dir)
    finally:
        end_process_trees(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _alive_nodes(port: int, env: Dict[str, str]) -> int:
    code = f"import ray; ray.init(address='127.0.0.1:{port}'); print(sum(n['Alive'] for n in ray.nodes()))"
    result = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, timeout=120)
    return int(result.stdout.split()[-1]) if result.returncode == 0 else 0
