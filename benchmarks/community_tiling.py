"""Tiled against untiled output for community architectures loaded through spandrel (needs the ``models`` extra).

Each architecture is a tiny random-weight network built with spandrel's own class (the builders of the tests,
``tests/helpers.py``), saved as a checkpoint and loaded back as ``--model_path`` loads it; a 296x120 photo is then
upscaled whole and with ``--tile`` (fp32), and the PSNR of the tiled output against the whole one is printed.

Example (the figures quoted in the README, AMD EPYC CPU)::

    python benchmarks/community_tiling.py --tile 32 --tile_pad 10
    python benchmarks/community_tiling.py --archs RealCUGAN --tile 32 --tile_pad 40
"""

import argparse
import os
import sys
import tempfile

import cv2
import torch
from tqdm import tqdm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, 'tests')]

from helpers import INPUTS, community_state_dict  # noqa: E402  (the repository first, then BasicSR through it)

from realesrgan import RealESRGANer  # noqa: E402
from realesrgan.metrics import psnr  # noqa: E402
from realesrgan.zoo import load_network, load_state_dict  # noqa: E402

ARCHS = ('SwinIR', 'HAT', 'DAT', 'SPAN', 'OmniSR', 'RealCUGAN', 'SAFMN', 'Uformer')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--archs', nargs='+', default=list(ARCHS), choices=ARCHS)
    parser.add_argument('--tile', type=int, default=32)
    parser.add_argument('--tile_pad', type=int, default=10)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    photo = cv2.resize(cv2.imread(str(INPUTS / 'astronaut.png')), (296, 120), interpolation=cv2.INTER_AREA)
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        for arch in tqdm(args.archs, unit='model'):
            path = os.path.join(folder, f'{arch}.pth')
            torch.save(community_state_dict(arch), path)
            info = load_network(load_state_dict(path))[1]
            options = dict(precision='fp32', device='cpu', pre_pad=0)
            whole = RealESRGANer(info.netscale, path, **options).enhance(photo)[0]
            tiled = RealESRGANer(info.netscale, path, tile=args.tile, tile_pad=args.tile_pad, **options)
            lines.append(
                f'{arch}: x{info.netscale}, tiled vs untiled {psnr(whole, tiled.enhance(photo)[0]):.1f} dB '
                f'(--tile {args.tile} --tile_pad {args.tile_pad})'
            )
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
