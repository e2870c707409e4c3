"""How well tiled inference matches untiled inference, and what it costs, in one run.

For one model and one image, runs ``RealESRGANer.enhance`` untiled and then tiled with each requested
``tile_blend`` (the extra seam context beyond ``tile_pad``; 0 gives the original's amount of context), and prints
the PSNR of every tiled output against the untiled one together with the pixels the network runs on and the time
ratio tiled / untiled (best of ``--repeats`` runs each, alternating, in this process).

Example (the figures quoted for issue 4)::

    python benchmarks/tiling_quality.py --model RealESRGAN_x4plus --size 256 --tile 64 --tile_pad 10 --blends 22 0
"""

import argparse
import os
import sys
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from sample_data import benchmark_image
from tqdm import tqdm

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from realesrgan import RealESRGANer  # noqa: E402  (the repository first, then BasicSR through it)
from realesrgan.inference.tiling import DEFAULT_TILE_BLEND, plan_tiles  # noqa: E402
from realesrgan.metrics import psnr  # noqa: E402
from realesrgan.zoo import get_model_spec, resolve_model_path  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument('--model', default='RealESRGAN_x4plus', help='official model name')
    parser.add_argument(
        '--size',
        type=int,
        default=256,
        help='side of the square test image (the astronaut photograph of scikit-image, resized)',
    )
    parser.add_argument('--tile', type=int, default=64, help='tile size')
    parser.add_argument('--tile_pad', type=int, default=10, help='tile_pad (the CLI default is 10)')
    parser.add_argument(
        '--blends',
        type=int,
        nargs='+',
        default=[DEFAULT_TILE_BLEND, 0],
        help='tile_blend values to compare (0: the context of the original)',
    )
    parser.add_argument('--precision', default='fp32', choices=('fp32', 'bf16', 'fp16', 'auto'))
    parser.add_argument('--repeats', type=int, default=1, help='runs of each setting; the best time counts')
    parser.add_argument('--threads', type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument('--device', default='auto', help='auto, cpu, cuda, cuda:N or mps')
    parser.add_argument(
        '--weights_dir',
        default=None,
        help='where official weights are cached (default: the weights location, see README)',
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = get_model_spec(args.model)
    weights = resolve_model_path(spec.name, args.weights_dir)
    img = benchmark_image(args.size)

    def upsampler(tile: int, blend: int) -> RealESRGANer:
        return RealESRGANer(
            spec.netscale,
            weights,
            model=spec.build(),
            tile=tile,
            tile_pad=args.tile_pad,
            pre_pad=0,
            device=args.device,
            precision=args.precision,
            tile_blend=blend,
        )

    settings: Dict[str, RealESRGANer] = {'untiled': upsampler(0, 0)}
    settings.update({f'blend {blend}': upsampler(args.tile, blend) for blend in args.blends})
    settings['untiled'].enhance(img[:32, :32])  # warm-up: first-call allocations and kernel selection
    times: Dict[str, List[float]] = {name: [] for name in settings}
    outputs: Dict[str, np.ndarray] = {}
    with tqdm(total=args.repeats * len(settings), unit='run') as bar:
        for _ in range(args.repeats):
            for name, runner in settings.items():
                start = time.perf_counter()
                outputs[name], _ = runner.enhance(img)
                times[name].append(time.perf_counter() - start)
                bar.update()

    height, width = img.shape[:2]
    first = settings['untiled']
    print(
        f'\n{spec.name}, {width}x{height} image, tile {args.tile}, tile_pad {args.tile_pad}, {first.precision} on '
        f'{first.device}, {torch.get_num_threads()} threads, best of {args.repeats}'
    )
    print(
        f'{"setting":<12} {"seam context":>12} {"tiles":>6} {"window":>7} {"pixels run":>11} {"PSNR vs untiled":>16} '
        f'{"time (s)":>9} {"tiled/untiled":>14}'
    )
    untiled_time = min(times['untiled'])
    for name, runner in settings.items():
        if name == 'untiled':
            print(f'{name:<12} {"-":>12} {1:>6} {"-":>7} {1:>10.2f}x {"-":>16} {untiled_time:>9.2f} {1:>14.2f}')
            continue
        context = args.tile_pad + runner.tile_blend
        plan = plan_tiles(height, width, args.tile, context, {2: 2, 1: 4}.get(spec.netscale, 1), spec.netscale)
        window = f'{plan.rows.size}x{plan.cols.size}'
        pixels = len(plan) * plan.rows.size * plan.cols.size / (height * width)  # network input, relative
        quality = psnr(outputs['untiled'], outputs[name])
        print(
            f'{name:<12} {context:>12} {len(plan):>6} {window:>7} {pixels:>10.2f}x {quality:>13.2f} dB '
            f'{min(times[name]):>9.2f} {min(times[name]) / untiled_time:>14.2f}'
        )


if __name__ == '__main__':
    main()
