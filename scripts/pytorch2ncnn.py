"""Export a Real-ESRGAN generator to ncnn (NAME.param + NAME.bin) for Real-ESRGAN-ncnn-vulkan, Upscayl and mobile apps.

Usage:
    python scripts/pytorch2ncnn.py --input CHECKPOINT_OR_MODEL_NAME --output DIR/NAME [--fp32] [--outscale N]

The architecture (any RRDBNet of scale 1/2/4, or SRVGGNetCompact) is detected from the checkpoint (official files,
net_g_*.pth of training, bare state dicts); --input also takes an official model name. The graph is the layout of the
official ncnn files: input blob `data`, output blob `output`, float RGB in [0, 1]. Weights are stored as float16 (as
the official files) unless --fp32. --outscale 2 or 3 appends the bicubic downscale of the official animevideov3
x2/x3 files to an x4 network. Every export is run by the ncnn runtime against PyTorch on a random and a real image at
two sizes (PSNR printed) and read back by our ncnn reader; below --min-psnr nothing is written and the exit status is
1. Bad arguments or unreadable inputs give exit status 2.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

import realesrgan  # noqa: F401  (BasicSR compatibility first)
from realesrgan.export.check_images import check_images
from realesrgan.export.export_input import check_output, resolve_input
from realesrgan.export.ncnn_export import DEFAULT_MIN_PSNR, NcnnExportError, export_ncnn
from realesrgan.zoo import (
    CheckpointError,
    WeightsNotFoundError,
    build_model_from_checkpoint,
)

DEFAULT_IMAGE = Path(__file__).resolve().parent.parent / 'inputs' / 'astronaut.png'


def parse_args() -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--input', required=True, help='generator checkpoint (.pth) or official model name')
    parser.add_argument('--output', required=True, help='DIR/NAME: writes DIR/NAME.param and DIR/NAME.bin')
    parser.add_argument('--fp32', action='store_true', help='keep float32 weights (default: float16, as official)')
    parser.add_argument(
        '--outscale',
        type=float,
        default=None,
        help='whole output scale below the network scale (x4 network -> 2 or 3): a bicubic resize ends the graph; '
        "default: the network scale, or the model name's scale (realesr-animevideov3-x2: 2)",
    )
    parser.add_argument('--params', action='store_true', help='export "params" instead of "params_ema"')
    parser.add_argument('--image', default=str(DEFAULT_IMAGE), help='real image for the check (default: %(default)s)')
    parser.add_argument('--check-size', type=int, default=32, help='side of the check images (default 32)')
    parser.add_argument(
        '--min-psnr',
        type=float,
        default=None,
        help='lowest accepted PSNR against PyTorch in dB (default: '
        + ', '.join(f'{value:g} for {storage}' for storage, value in DEFAULT_MIN_PSNR.items())
        + ')',
    )
    parser.add_argument(
        '--weights-dir',
        default=None,
        help='where official weights are cached (default: the weights location of realesrgan --help)',
    )
    parser.add_argument('--offline', action='store_true', help='never download official weights')
    parser.add_argument('--threads', type=int, default=None, help="CPU threads of the checks (default: torch's)")
    args = parser.parse_args()
    if args.check_size < 4:
        parser.error(f'--check-size must be at least 4, got {args.check_size}')
    if args.threads is not None and args.threads < 1:
        parser.error(f'--threads must be at least 1, got {args.threads}')
    return args


def file_size(path: str) -> str:
    """``"1.2 MB"`` or ``"37.9 kB"``."""
    size = os.path.getsize(path)
    return f'{size / 1e6:.1f} MB' if size >= 1e6 else f'{size / 1e3:.1f} kB'


def main() -> int:
    """Export, check and write. Returns the exit status."""
    args = parse_args()
    try:
        check_output(args.output + '.param')
        path, name_outscale = resolve_input(args.input, args.weights_dir, download=not args.offline)
        model, info = build_model_from_checkpoint(path, 'params' if args.params else None)
        if not info.native:
            raise CheckpointError(
                f'{path} is a {info.arch} model, loaded through spandrel; the ncnn export covers RRDBNet (also the '
                'older ESRGAN layouts) and SRVGGNetCompact.'
            )
        inputs = check_images(args.image, info.kwargs['num_in_ch'], args.check_size, info.traits.multiple_of)
    except (OSError, CheckpointError, WeightsNotFoundError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    outscale = args.outscale if args.outscale is not None else name_outscale
    print(
        f'{path}: {info.arch}({", ".join(f"{key}={value!r}" for key, value in info.kwargs.items())}), x{info.netscale}'
    )

    start = time.perf_counter()
    try:
        with tqdm(desc='ncnn runtime vs PyTorch', unit='image') as progress:
            result = export_ncnn(
                model,
                info,
                args.output,
                inputs,
                fp16=not args.fp32,
                outscale=outscale,
                min_psnr=args.min_psnr,
                num_threads=torch.get_num_threads(),
                on_check=lambda label, value: progress.update(),
            )
    except NcnnExportError as error:
        for label, value in error.checks:
            print(f'PSNR ncnn runtime vs PyTorch, {label}: {value:.1f} dB')
        print(f'error: {error}', file=sys.stderr)
        return 1
    except (ValueError, ImportError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    for label, value in result.checks:
        print(f'PSNR ncnn runtime vs PyTorch, {label}: {value:.1f} dB')
    resize = f', then a bicubic resize by {result.final_resize:g}' if result.final_resize else ''
    print(
        f'Wrote {result.param_path} ({file_size(result.param_path)}) and {result.bin_path} '
        f'({file_size(result.bin_path)}) in {time.perf_counter() - start:.1f} s with the checks: {result.storage} '
        f'weights, x{info.netscale} network{resize} = output scale {result.outscale:g}; input blob data, output blob '
        'output; read back to the same weights by our ncnn reader.'
    )
    folder, name = os.path.split(os.path.abspath(os.path.splitext(result.param_path)[0]))
    print(f'Run it: realesrgan-ncnn-vulkan -i in.png -o out.png -m {folder} -n {name} -s {result.outscale:g}')
    if 'models' not in folder:
        print(
            'Note: realesrgan-ncnn-vulkan refuses model folders whose path lacks "models" ("unknown model dir type").'
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())
