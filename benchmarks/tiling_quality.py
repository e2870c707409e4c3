"""How well tiled inference matches untiled inference, and what it costs, in one run.

For one model and one image, runs ``RealESRGANer.enhance`` untiled and then tiled with each requested
``tile_blend`` (the extra seam context beyond ``tile_pad``; 0 gives the original's amount of context), and prints
the PSNR of every tiled output against the untiled one together with the pixels the network runs on and the time
ratio tiled / untiled (best of ``--repeats`` runs each, alternating, in this process).

With ``--community ARCH ...`` it compares community architectures loaded through spandrel instead (needs the
``models`` extra): each is a tiny random-weight network built with spandrel's own class (the builders of the tests,
``tests/helpers.py``), saved as a checkpoint and loaded back as ``--model_path`` loads it; a 296x120 photo is
upscaled whole and with ``--tile`` (fp32), and the PSNR of the tiled output against the whole one is printed.

Examples (the figures quoted for issue 4, and for the community models on an AMD EPYC CPU)::

    python benchmarks/tiling_quality.py --model RealESRGAN_x4plus --size 256 --tile 64 --tile_pad 10 --blends 22 0
    python benchmarks/tiling_quality.py --community all --tile 32 --tile_pad 10 --threads 1
    python benchmarks/tiling_quality.py --community RealCUGAN --tile 32 --tile_pad 40 --threads 1
"""

import argparse
import importlib.util
import os
import tempfile
import time
from types import ModuleType
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch
from benchlib.sample_images import benchmark_image
from benchlib.workers import REPO_ROOT
from tqdm import tqdm

from realesrgan import RealESRGANer
from realesrgan.inference.tiling import DEFAULT_TILE_BLEND, plan_tiles
from realesrgan.metrics import psnr
from realesrgan.zoo import get_model_spec, load_network, load_state_dict, resolve_model_path

COMMUNITY_ARCHS = ('SwinIR', 'HAT', 'DAT', 'SPAN', 'OmniSR', 'RealCUGAN', 'SAFMN', 'Uformer')


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
    parser.add_argument(
        '--community',
        nargs='+',
        choices=('all', *COMMUNITY_ARCHS),
        help='compare these community architectures (tiny random networks through spandrel) instead of --model',
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


def test_helpers() -> ModuleType:
    """``tests/helpers.py`` of this checkout, loaded from its file (its builders of tiny community networks)."""
    spec = importlib.util.spec_from_file_location('realesrgan_test_helpers', REPO_ROOT / 'tests' / 'helpers.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def community_lines(archs: Sequence[str], tile: int, tile_pad: int) -> List[str]:
    """Tiled against untiled PSNR of tiny random community networks, one line each."""
    helpers = test_helpers()
    photo = cv2.resize(cv2.imread(str(helpers.INPUTS / 'astronaut.png')), (296, 120), interpolation=cv2.INTER_AREA)
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        for arch in tqdm(archs, unit='model'):
            path = os.path.join(folder, f'{arch}.pth')
            torch.save(helpers.community_state_dict(arch), path)
            info = load_network(load_state_dict(path))[1]
            options = dict(precision='fp32', device='cpu', pre_pad=0)
            whole = RealESRGANer(info.netscale, path, **options).enhance(photo)[0]
            tiled = RealESRGANer(info.netscale, path, tile=tile, tile_pad=tile_pad, **options)
            lines.append(
                f'{arch}: x{info.netscale}, tiled vs untiled {psnr(whole, tiled.enhance(photo)[0]):.1f} dB '
                f'(--tile {tile} --tile_pad {tile_pad})'
            )
    return lines


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.community:
        archs = COMMUNITY_ARCHS if 'all' in args.community else args.community
        print('\n'.join(community_lines(archs, args.tile, args.tile_pad)))
        return
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
