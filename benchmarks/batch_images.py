"""Batch upscaling figures: images/s with one and two CPU workers on a folder, and clean alpha edges.

    python benchmarks/batch_images.py [--images 16] [--size 64] [--model realesr-animevideov3]

Throughput: a folder of ``--images`` small crops of the sample photos is upscaled x4 end to end (read, upscale,
write) by the image job, once by one worker with two torch threads and once by two worker processes with one
thread each (``--num_process_per_gpu 2`` on the CPU); the first timed run of each kind follows a warm-up run on
two images, so the weights conversion and the process server's start are not counted. Both runs must give
byte-identical files, which is checked and printed.

Alpha edges: a white disc with a soft 8-pixel alpha ramp on fully transparent black (:func:`soft_shape`) is
upscaled by each packaged model with and without ``--alpha_bleed``; printed is the mean luminance of the output's
partly transparent pixels (0 < alpha < 1) against the opaque shape's (:func:`edge_luminance`), and the same for
the band 0.25 < alpha < 0.75. The CPU kind is printed with the speed figures.
"""

import argparse
import filecmp
import os
import sys
import tempfile
import time
from typing import Dict, Tuple

import cv2
import numpy as np
import torch
from benchlib.machine import cpu_description
from benchlib.workers import REPO_ROOT

from realesrgan.batch.job import ImageJob
from realesrgan.batch.run import run_image_job
from realesrgan.inference.settings import UpscaleSettings
from realesrgan.utils import RealESRGANer
from realesrgan.zoo import get_model_spec, resolve_model_path

PACKAGED = ('realesr-animevideov3', 'RealESRGAN_x4plus_anime_6B', 'RealESRGAN_x4plus')


def soft_shape(size: int = 96, radius: float = 26.0, ramp: float = 8.0) -> np.ndarray:
    """A white disc whose alpha falls from 255 to 0 over ``ramp`` pixels, on fully transparent black (BGRA)."""
    yy, xx = np.mgrid[:size, :size]
    distance = np.hypot(yy - size / 2 + 0.5, xx - size / 2 + 0.5)
    alpha = np.round(np.clip((radius + ramp - distance) / ramp, 0, 1) * 255).astype(np.uint8)
    img = np.zeros((size, size, 4), np.uint8)
    img[alpha > 0, :3] = 255
    img[:, :, 3] = alpha
    return img


def edge_luminance(output: np.ndarray, low: float = 0.0, high: float = 1.0) -> Tuple[float, float]:
    """Mean luminance (BT.601) of the pixels with ``low < alpha < high``, and of the opaque ones, of a BGRA image."""
    alpha = output[:, :, 3].astype(np.float64) / 255
    luminance = cv2.cvtColor(np.ascontiguousarray(output[:, :, :3]), cv2.COLOR_BGR2GRAY).astype(np.float64)
    edge = (alpha > low) & (alpha < high)
    return float(luminance[edge].mean()), float(luminance[alpha == 1].mean())


def make_folder(folder: str, count: int, size: int) -> None:
    """``count`` different ``size`` x ``size`` crops of the sample photos."""
    photos = [cv2.imread(str(REPO_ROOT / 'inputs' / name)) for name in ('astronaut.png', 'chelsea.jpg')]
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for k in range(count):
        photo = photos[k % len(photos)]
        top, left = (int(rng.integers(0, photo.shape[i] - size + 1)) for i in (0, 1))
        cv2.imwrite(os.path.join(folder, f'{k:02d}.png'), photo[top : top + size, left : left + size])


def timed_job(folder: str, output: str, model: str, weights_dir: str, workers: int) -> float:
    """Seconds of one job over ``folder`` (fp32 on the CPU)."""
    job = ImageJob(
        input=folder,
        output=output,
        model_name=model,
        weights_dir=weights_dir,
        num_process_per_gpu=workers,
        settings=UpscaleSettings(device='cpu', precision='fp32'),
    )
    start = time.perf_counter()
    summary = run_image_job(job, log=lambda line: None, progress=False)
    elapsed = time.perf_counter() - start
    assert summary.ok and len(summary.written) == summary.total, summary.describe(output)
    return elapsed


def throughput(count: int, size: int, model: str, weights_dir: str) -> Dict[str, float]:
    with tempfile.TemporaryDirectory() as work:
        folder, warm = os.path.join(work, 'in'), os.path.join(work, 'warm')
        make_folder(folder, count, size)
        make_folder(warm, 2, size)
        results = {}
        runs = (('1 worker, 2 threads', 1, 2), ('1 worker, 1 thread', 1, 1), ('2 workers, 1 thread each', 2, 1))
        for label, workers, threads in runs:
            torch.set_num_threads(threads)  # the job's own process; worker processes take their share themselves
            timed_job(warm, os.path.join(work, 'warm_out'), model, weights_dir, workers)
            seconds = timed_job(folder, os.path.join(work, label), model, weights_dir, workers)
            results[label] = count / seconds
            print(f'  {label}: {count / seconds:.2f} images/s ({seconds:.1f} s for {count} images)')
        names = sorted(os.listdir(os.path.join(work, runs[0][0])))
        for label, _, _ in runs[1:]:
            same = filecmp.cmpfiles(os.path.join(work, runs[0][0]), os.path.join(work, label), names, shallow=False)[0]
            print(f'  {label} against {runs[0][0]}: {len(same)} of {len(names)} outputs byte-identical')
    return results


def alpha_figures(weights_dir: str) -> None:
    shape = soft_shape()
    for name in PACKAGED:
        spec = get_model_spec(name)
        path = resolve_model_path(name, weights_dir=weights_dir, download=False, progress=False)
        upsampler = RealESRGANer(spec.netscale, path, model=spec.build(), pre_pad=0, device='cpu', precision='fp32')
        for bleed in (False, True):
            output = upsampler.enhance(shape, alpha_bleed=bleed)[0]
            edge, opaque = edge_luminance(output)
            band, _ = edge_luminance(output, 0.25, 0.75)
            print(
                f'  {name:28s} alpha_bleed={bleed!s:5s}: 0<a<1 {edge:6.1f} ({100 * (edge / opaque - 1):+5.1f}%), '
                f'0.25<a<0.75 {band:6.1f} ({100 * (band / opaque - 1):+5.1f}%), opaque {opaque:5.1f}'
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--images', type=int, default=16)
    parser.add_argument('--size', type=int, default=64, help='side of the square test images')
    parser.add_argument('--model', type=str, default='realesr-animevideov3')
    parser.add_argument('--weights_dir', type=str, default=None, help='weights folder (default: the weights location)')
    parser.add_argument('--only', choices=('throughput', 'alpha'), default=None, help='run one part only')
    args = parser.parse_args()
    print(f'CPU: {cpu_description()}')
    if args.only != 'alpha':
        print(f'Throughput, {args.model} x4, {args.images} images of {args.size}x{args.size}, fp32, end to end:')
        throughput(args.images, args.size, args.model, args.weights_dir)
    if args.only != 'throughput':
        print('Alpha edges (mean luminance of partly transparent pixels against the opaque shape, 255 = white):')
        alpha_figures(args.weights_dir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
