"""PSNR of each precision's output against fp32, and its time relative to fp32, in one run.

Runs ``RealESRGANer.enhance`` untiled on one image for every requested precision that this device really runs
(fp16 on a CPU falls back to fp32 and is then left out), plus plain contiguous fp32 without channels-last as the
original runs it, and with ``--ncnn`` the official ncnn model in the ncnn runtime, and prints a table.

With ``--bare-network`` it times one forward pass of the bare network instead (random weights and input, one
process): contiguous fp32 (the original's layout), channels-last fp32, bf16 autocast and pure bf16 weights (both
channels-last), each as a ratio to contiguous fp32. The per-CPU-kind choice of ``--precision auto``
(``realesrgan/inference/precision.py``) rests on these two tables. Examples::

    python benchmarks/precision_quality.py --model RealESRGAN_x4plus --size 128 --ncnn
    python benchmarks/precision_quality.py --bare-network --model realesr-animevideov3 --size 256 --repeats 3
"""

import argparse
import statistics
import time
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from benchlib.machine import cpu_description
from benchlib.sample_images import benchmark_image
from tqdm import tqdm

from realesrgan import RealESRGANer
from realesrgan.export.ncnn_runtime import run_ncnn
from realesrgan.metrics import psnr
from realesrgan.zoo import get_model_spec, resolve_model_path
from realesrgan.zoo.downloads import packaged_ncnn_files


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument('--model', default='RealESRGAN_x4plus', help='official model name')
    parser.add_argument(
        '--size',
        type=int,
        default=128,
        help='side of the square test image (the astronaut photograph of scikit-image, resized)',
    )
    parser.add_argument(
        '--precisions',
        nargs='+',
        default=['bf16', 'fp16', 'auto'],
        choices=('fp16', 'bf16', 'auto'),
        help='precisions compared with fp32',
    )
    parser.add_argument(
        '--ncnn',
        action='store_true',
        help='also run the official ncnn model with the ncnn runtime (fp32), for the models it ships',
    )
    parser.add_argument(
        '--bare-network',
        action='store_true',
        help='time the bare network per memory layout and precision instead (median of --repeats)',
    )
    parser.add_argument('--repeats', type=int, default=2, help='runs of each setting; the best time counts')
    parser.add_argument('--threads', type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument('--device', default='auto', help='auto, cpu, cuda, cuda:N or mps')
    parser.add_argument(
        '--weights_dir',
        default=None,
        help='where official weights are cached (default: the weights location, see README)',
    )
    return parser.parse_args(argv)


def ncnn_output(param_path: str, bin_path: str, img: np.ndarray) -> np.ndarray:
    """The official ncnn model run by the ncnn runtime in fp32, as a BGR uint8 image."""
    rgb = run_ncnn(param_path, bin_path, img[:, :, ::-1].astype(np.float32) / 255.0, torch.get_num_threads())
    return (np.clip(rgb[:, :, ::-1], 0, 1) * 255.0).round().astype(np.uint8)


def median_time(forward: Callable[[], torch.Tensor], repeats: int) -> float:
    """Median wall time of ``forward`` over ``repeats`` runs, after one warm-up run."""
    forward()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def layout_times(spec: Any, size: int, repeats: int) -> Dict[str, float]:
    """Median seconds per forward pass for each layout/precision (random weights: speed does not depend on them).

    Args:
        spec: The model's zoo entry (its architecture is built from the zoo table).
        size: Side of the square random input.
        repeats: Timed runs per configuration.

    Returns:
        Configuration name -> median seconds.
    """
    torch.manual_seed(0)
    model = spec.build().eval()
    x = torch.rand(1, 3, size, size)
    results = {}
    with torch.inference_mode():
        results['contiguous fp32'] = median_time(lambda: model(x), repeats)
        model = model.to(memory_format=torch.channels_last)
        x_cl = x.contiguous(memory_format=torch.channels_last)
        results['channels-last fp32'] = median_time(lambda: model(x_cl), repeats)

        def autocast_bf16() -> torch.Tensor:
            with torch.autocast('cpu', dtype=torch.bfloat16):
                return model(x_cl)

        results['channels-last bf16 autocast'] = median_time(autocast_bf16, repeats)
        model_bf16 = spec.build().eval().to(torch.bfloat16).to(memory_format=torch.channels_last)
        x_bf16 = x_cl.to(torch.bfloat16)
        results['channels-last bf16 weights'] = median_time(lambda: model_bf16(x_bf16), repeats)
    return results


def print_layout_times(spec: Any, size: int, repeats: int) -> None:
    """The ``--bare-network`` table."""
    results = layout_times(spec, size, repeats)
    baseline = results['contiguous fp32']
    print(f'CPU: {cpu_description()}')
    print(f'{spec.name}, {size}x{size}, {torch.get_num_threads()} threads, torch {torch.__version__}')
    for name, seconds in results.items():
        print(f'{name:30s} {seconds:8.3f} s   {baseline / seconds:5.2f}x contiguous fp32')


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = get_model_spec(args.model)
    if args.bare_network:
        print_layout_times(spec, args.size, args.repeats)
        return
    weights = resolve_model_path(spec.name, args.weights_dir)
    img = benchmark_image(args.size)

    def upsampler(precision: str) -> RealESRGANer:
        return RealESRGANer(
            spec.netscale, weights, model=spec.build(), pre_pad=0, device=args.device, precision=precision
        )

    settings: Dict[str, RealESRGANer] = {'fp32': upsampler('fp32')}
    plain = upsampler('fp32')
    plain.model.to(memory_format=torch.contiguous_format)  # the original's layout: contiguous weights ...
    plain.channels_last = False  # ... and inputs
    settings['fp32 contiguous'] = plain
    for requested in args.precisions:
        runner = upsampler(requested)
        label = runner.precision if requested != 'auto' else f'auto ({runner.precision})'
        if runner.precision != 'fp32' and label not in settings:
            settings[label] = runner
    runs: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
        name: (lambda image, runner=runner: runner.enhance(image)[0]) for name, runner in settings.items()
    }
    if args.ncnn and spec.ncnn_name and not spec.outscale:
        runs['ncnn runtime fp32'] = partial(ncnn_output, *packaged_ncnn_files(spec))
    for run in runs.values():
        run(img[:32, :32])  # warm-up
    times: Dict[str, List[float]] = {name: [] for name in runs}
    outputs: Dict[str, np.ndarray] = {}
    with tqdm(total=args.repeats * len(runs), unit='run') as bar:
        for _ in range(args.repeats):
            for name, run in runs.items():
                start = time.perf_counter()
                outputs[name] = run(img)
                times[name].append(time.perf_counter() - start)
                bar.update()

    height, width = img.shape[:2]
    device = settings['fp32'].device
    print(
        f'\n{spec.name}, {width}x{height} image, untiled on {device}, {torch.get_num_threads()} threads, '
        f'best of {args.repeats}'
    )
    print(f'{"run":<18} {"PSNR vs fp32":>14} {"time (s)":>9} {"time / fp32":>12}')
    for name in runs:
        quality = 'reference' if name == 'fp32' else f'{psnr(outputs["fp32"], outputs[name]):.2f} dB'
        print(f'{name:<18} {quality:>14} {min(times[name]):>9.2f} {min(times[name]) / min(times["fp32"]):>12.2f}')


if __name__ == '__main__':
    main()
