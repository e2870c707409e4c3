"""Images/s and video frames/s of the local process pool, an embedded Ray and a two-node Ray cluster, in one run.

    python benchmarks/cluster_throughput.py                      # 24 images of 64 px, a 48-frame clip
    python benchmarks/cluster_throughput.py --images 48 --size 96 --frames 96 --json cluster.json

Every mode runs the same jobs with two workers of one CPU thread each, fp32 (the original's pixels, identical in
every mode, which the run checks): the local pool (``--num_process_per_gpu 2``), an embedded local Ray (``--ray``),
and a cluster of two Ray nodes of one CPU each started on this machine (``ray start``, ended at the end of the run).
Ray's start-up is measured apart: ``ray.init`` of the embedded instance, and starting the two nodes plus
connecting to them; the job times include what every job pays (building the workers, loading the model).

The Ray Data line runs the image job's tasks through ``ray.data`` ``map_batches`` with an actor class holding one
upscaler each, on the embedded instance, for the comparison that chose plain actors (docs/cluster.md).
Self-contained (no benchmarks/ helpers); the weights of the two packaged models are converted on first use.
"""

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import cv2
from benchlib.processes import end_process_trees

from realesrgan.batch.image_task import ImageTask, OutputRule
from realesrgan.batch.job import ImageJob
from realesrgan.batch.run import plan_batch, run_image_job
from realesrgan.execution.executor import Work
from realesrgan.execution.ray_executor import connect_ray
from realesrgan.inference.recipe import UpscalerRecipe
from realesrgan.inference.settings import UpscaleSettings
from realesrgan.video.job import VideoJob, run_video_job
from realesrgan.video.sample_clip import panning_frames, write_clip
from realesrgan.zoo import resolve_model_path

ROOT = Path(__file__).resolve().parent.parent
IMAGE_MODEL = 'RealESRGAN_x4plus_anime_6B'
VIDEO_MODEL = 'realesr-animevideov3'
WORKERS = 2


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--images', type=int, default=24, help='Number of images (default: 24)')
    parser.add_argument('--size', type=int, default=64, help='Image side in pixels (default: 64)')
    parser.add_argument('--frames', type=int, default=48, help='Frames of the clip, 64x48 at 24 fps (default: 48)')
    parser.add_argument('--weights_dir', default=str(ROOT / 'weights'), help='Weights folder (default: weights/)')
    parser.add_argument('--json', default=None, help='Also write the figures to this JSON file')
    parser.add_argument('--child', nargs=3, default=None, help=argparse.SUPPRESS)  # MODE ROOT ADDRESS: one mode
    return parser.parse_args(argv)


def cpu_line() -> str:
    """The CPU model, its usable cores and the kind of its matrix units (speed figures mean nothing without it)."""
    text = Path('/proc/cpuinfo').read_text() if Path('/proc/cpuinfo').exists() else ''
    model = re.search(r'^model name\s*:\s*(.+)$', text, re.M)
    flags = set(re.search(r'^flags\s*:\s*(.+)$', text, re.M).group(1).split()) if 'flags' in text else set()
    kinds = [name for flag, name in (('amx_bf16', 'AMX-BF16'), ('avx512_bf16', 'AVX512-BF16'), ('avx512f', 'AVX-512'))
             if flag in flags]  # fmt: skip
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    name = model.group(1) if model else platform.processor()
    return f'{name}, {cores} usable cores, {", ".join(kinds) or "no AVX-512"}'


def make_inputs(root: Path, count: int, size: int, frames: int) -> None:
    photos = [cv2.imread(str(ROOT / 'inputs' / name)) for name in ('astronaut.png', 'chelsea.jpg')]
    folder = root / 'images'
    folder.mkdir()
    for k in range(count):
        top, left = (3 * k) % 40, (5 * k) % 60
        crop = cv2.resize(photos[k % 2], (size + 60, size + 40))[top : top + size, left : left + size]
        cv2.imwrite(str(folder / f'img{k:03d}.png'), crop)
    write_clip(str(root / 'clip.mp4'), list(panning_frames(photos[1], (64, 48), frames)), fps=24)


def timed(body: Callable[[], object]) -> float:
    start = time.perf_counter()
    body()
    return time.perf_counter() - start


def image_job(folder: Path, output: Path, weights: str, ray: Optional[str]) -> ImageJob:
    settings = UpscaleSettings(device='cpu', precision='fp32')
    return ImageJob(
        input=str(folder), output=str(output), model_name=IMAGE_MODEL, weights_dir=weights,
        num_process_per_gpu=WORKERS, settings=settings, ray=ray,
    )  # fmt: skip


def video_job(clip: Path, output: Path, weights: str, ray: Optional[str]) -> VideoJob:
    settings = UpscaleSettings(device='cpu', precision='fp32', outscale=2)
    return VideoJob(
        input=str(clip), output=str(output), model_name=VIDEO_MODEL, weights_dir=weights,
        num_process_per_gpu=WORKERS, settings=settings, ray=ray,
    )  # fmt: skip


def run_mode(root: Path, mode: str, folder: Path, weights: str, ray: Optional[str]) -> Dict[str, float]:
    """One mode's image and video jobs; seconds of each."""
    quiet = lambda line: None  # noqa: E731
    images = timed(lambda: run_image_job(image_job(folder, root / mode / 'images', weights, ray), quiet, False))
    video = timed(lambda: run_video_job(video_job(root / 'clip.mp4', root / mode / 'video', weights, ray), quiet))
    return {'images_s': images, 'video_s': video}


class _DataUpscaler:
    """Ray Data's batch-inference pattern: an actor class holding one upscaler, called with batches of rows."""

    def __init__(self, work: Work, items: list) -> None:
        import torch

        torch.set_num_threads(1)
        self.work, self.items, self.upscaler = work, items, work.recipe('cpu')

    def __call__(self, batch: Dict[str, object]) -> Dict[str, object]:
        done = [self.work.task(self.upscaler, self.items[int(i)], lambda payload: None) is not None for i in batch['i']]
        return {'i': batch['i'], 'ok': done}


def ray_data_images(folder: Path, output: Path, weights: str) -> float:
    """The image job's tasks through ``map_batches`` on the connected Ray; seconds from submission to the last."""
    import ray

    job = image_job(folder, output, weights, None)
    plan = plan_batch(job)
    rule = OutputRule(str(output), job.suffix, job.ext, plan.root, None, True, False, plan.claimed)
    work = Work(UpscalerRecipe(job.choose_model(), job.settings), ImageTask(rule))

    def body() -> None:
        data = ray.data.from_items([{'i': i} for i in range(len(plan.items))])
        mapped = data.map_batches(
            _DataUpscaler, fn_constructor_args=(work, list(plan.items)), batch_size=1, concurrency=WORKERS, num_cpus=1
        )
        assert all(row['ok'] for row in mapped.iter_rows())

    return timed(body)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def start_two_nodes(temp_dir: str, env: Dict[str, str]) -> str:
    """A head and a second raylet on this machine, one CPU each; returns the address."""
    port = free_port()
    common = ['--num-cpus', '1', '--node-ip-address', '127.0.0.1', '--temp-dir', temp_dir, '--disable-usage-stats']
    start = [sys.executable, '-m', 'ray.scripts.scripts', 'start']
    head = ['--head', '--port', str(port), '--include-dashboard', 'false', '--ray-client-server-port', str(free_port())]
    for extra in (head, ['--address', f'127.0.0.1:{port}']):
        subprocess.run([*start, *extra, *common], env=env, check=True, capture_output=True)
    return f'127.0.0.1:{port}'


def end_two_nodes(temp_dir: str) -> None:
    """Kill the processes of the cluster (found by its temporary folder) with their children, and remove the folder."""
    end_process_trees(temp_dir)
    shutil.rmtree(temp_dir, ignore_errors=True)


def same_outputs(folders: List[Path]) -> bool:
    first = sorted(path.relative_to(folders[0]) for path in folders[0].rglob('*') if path.is_file())
    return all(
        sorted(path.relative_to(folder) for path in folder.rglob('*') if path.is_file()) == first
        and all((folder / name).read_bytes() == (folders[0] / name).read_bytes() for name in first)
        for folder in folders[1:]
    )


def run_child(args: argparse.Namespace, mode: str, root: Path, env: Dict[str, str], address: str = '') -> dict:
    """One mode in a fresh interpreter (Ray's settings are read once per process); its figures."""
    command = [sys.executable, __file__, '--weights_dir', args.weights_dir, '--frames', str(args.frames),
               '--images', str(args.images), '--size', str(args.size), '--child', mode, str(root), address]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f'the {mode} run failed:\n{result.stderr[-3000:]}')
    return json.loads(result.stdout.strip().splitlines()[-1])


def child(args: argparse.Namespace) -> None:
    """The body of :func:`run_child`: one mode's jobs, its figures as JSON on stdout."""
    mode, root, address = args.child[0], Path(args.child[1]), args.child[2]
    folder = root / 'images'
    if mode == 'local':
        figures = run_mode(root, mode, folder, args.weights_dir, None)
    else:
        import ray

        startup = timed(lambda: connect_ray(address or 'local'))
        figures = {'startup_s': startup, **run_mode(root, mode, folder, args.weights_dir, address or 'local')}
        if mode == 'embedded':
            figures['data_images_s'] = ray_data_images(folder, root / 'data' / 'images', args.weights_dir)
        ray.shutdown()
    print(json.dumps(figures))


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if args.child:
        child(args)
        return
    for model in (IMAGE_MODEL, VIDEO_MODEL):
        resolve_model_path(model, weights_dir=args.weights_dir, download=False, progress=False)
    root = Path(tempfile.mkdtemp(prefix='cluster_bench'))
    env = {key: value for key, value in os.environ.items() if not key.startswith('RAY_')}
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(ROOT), env.get('PYTHONPATH')]))
    figures: Dict[str, Dict[str, float]] = {}
    try:
        make_inputs(root, args.images, args.size, args.frames)
        figures['local pool'] = run_child(args, 'local', root, env)
        embedded = run_child(args, 'embedded', root, env)
        figures['embedded Ray Data'] = {'images_s': embedded.pop('data_images_s')}
        figures['embedded Ray'] = embedded

        temp_dir = tempfile.mkdtemp(prefix='rayb', dir='/tmp')  # short: Ray's socket paths live under it
        env_cluster = {**env, 'RAY_AUTH_MODE': 'token', 'RAY_AUTH_TOKEN': secrets.token_hex(32)}
        try:
            start = time.perf_counter()
            address = start_two_nodes(temp_dir, env_cluster)
            nodes_started = time.perf_counter() - start
            cluster = run_child(args, 'two_nodes', root, env_cluster, address)
            cluster['startup_s'] += nodes_started
            figures['two-node Ray'] = cluster
        finally:
            end_two_nodes(temp_dir)
        identical = same_outputs([root / name for name in ('local', 'embedded', 'two_nodes')])
        identical = identical and same_outputs([root / 'local' / 'images', root / 'data' / 'images'])
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(f'CPU: {cpu_line()}')
    print(f'{args.images} images of {args.size} px ({IMAGE_MODEL}), {args.frames} frames of 64x48 ({VIDEO_MODEL} x2), '
          f'fp32, {WORKERS} workers of 1 thread')  # fmt: skip
    print(f'{"mode":<20} {"start-up s":>10} {"images/s":>9} {"frames/s":>9}')
    for mode, values in figures.items():
        startup = f'{values["startup_s"]:.1f}' if 'startup_s' in values else '-'
        frames = f'{args.frames / values["video_s"]:.2f}' if 'video_s' in values else '-'
        print(f'{mode:<20} {startup:>10} {args.images / values["images_s"]:>9.2f} {frames:>9}')
    print('start-up: ray.init of the embedded instance; for the two nodes, ray start twice plus connecting')
    print(f'outputs identical in every mode: {"yes" if identical else "NO"}')
    if args.json:
        record = {'cpu': cpu_line(), 'args': vars(args), 'figures': figures, 'identical': identical}
        Path(args.json).write_text(json.dumps(record, indent=2))


if __name__ == '__main__':
    main()
