"""Export a Real-ESRGAN generator to ONNX and verify the exported graph against PyTorch with ONNX Runtime.

Usage:
    python scripts/pytorch2onnx.py --input weights.pth --output model.onnx [--params] [--opset N] [--fp16]

The architecture (RRDBNet or SRVGGNetCompact, with all its hyper-parameters) is detected from the checkpoint;
``--input`` may also be an official model name (its weights are resolved as by the inference script, offline
included). The graph has dynamic batch, height and width (input ``input``, output ``output``, NCHW, RGB in [0, 1]).
It is checked with ``onnx.checker`` and run with ONNX Runtime on a random image and on a real image of two
different sizes; the PSNR against PyTorch (float32) is printed. Below ``--min-psnr`` (50 dB) the export is
discarded and the exit status is 1.
"""

import argparse
import os
import sys
from pathlib import Path
from typing import List, Tuple

import cv2
import numpy as np
from tqdm import tqdm

import realesrgan  # noqa: F401  (BasicSR compatibility first)
from realesrgan.export.export_input import check_output, resolve_input
from realesrgan.export.onnx import DEFAULT_OPSETS, EXPORTERS, export_onnx, onnx_session, run_onnx
from realesrgan.export.parity import output_psnr, torch_forward
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
    parser.add_argument('--output', required=True, help='ONNX file to write')
    parser.add_argument('--params', action='store_true', help='export "params" instead of "params_ema"')
    parser.add_argument(
        '--opset',
        type=int,
        default=None,
        help='ONNX opset (default: ' + ', '.join(f'{opset} for {name}' for name, opset in DEFAULT_OPSETS.items()) + ')',
    )
    parser.add_argument('--fp16', action='store_true', help='float16 weights, input and output')
    parser.add_argument(
        '--exporter',
        choices=EXPORTERS,
        default='torchscript',
        help='torchscript: fast, no extra package; dynamo: torch.export based, needs onnxscript',
    )
    parser.add_argument('--image', default=str(DEFAULT_IMAGE), help='real image for the check (default: %(default)s)')
    parser.add_argument('--verify-size', type=int, default=64, help='side of the check inputs (default 64)')
    parser.add_argument('--min-psnr', type=float, default=50.0, help='lowest accepted PSNR in dB (default 50)')
    parser.add_argument(
        '--weights-dir',
        default=None,
        help='where official weights are cached (default: the weights location, see README)',
    )
    return parser.parse_args()


def check_inputs(image_path: str, num_in_ch: int, side: int) -> List[Tuple[str, np.ndarray]]:
    """A random image (side x 3/4 side) and a center crop (side x side) of a real image, as (H, W, C) in [0, 1]."""
    width = max(4, side * 3 // 4 // 4 * 4)  # multiple of 4: x1 RRDBNet pixel-unshuffles by 4
    inputs = [(f'random {side}x{width}', np.random.default_rng(0).random((side, width, num_in_ch), dtype=np.float32))]
    if num_in_ch not in (1, 3):
        return inputs
    flags = cv2.IMREAD_COLOR if num_in_ch == 3 else cv2.IMREAD_GRAYSCALE
    image = cv2.imdecode(np.fromfile(image_path, dtype=np.uint8), flags) if os.path.isfile(image_path) else None
    if image is None:
        raise FileNotFoundError(f'Cannot read the check image {image_path}; pass another one with --image.')
    image = image[:, :, ::-1] if num_in_ch == 3 else image[:, :, None]
    top, left = max(0, (image.shape[0] - side) // 2), max(0, (image.shape[1] - side) // 2)
    crop = image[top : top + side, left : left + side]
    crop = crop[: crop.shape[0] // 4 * 4, : crop.shape[1] // 4 * 4]
    inputs.append((f'{Path(image_path).name} {crop.shape[0]}x{crop.shape[1]}', crop.astype(np.float32) / 255.0))
    return inputs


def main() -> int:
    """Export, check and verify. Returns the exit status."""
    args = parse_args()
    try:
        check_output(args.output)
        path, _ = resolve_input(args.input, args.weights_dir)
        model, info = build_model_from_checkpoint(path, 'params' if args.params else None)
        if not info.native:
            raise CheckpointError(
                f'{path} is a {info.arch} model, loaded through spandrel; ONNX export covers RRDBNet (also the older '
                'ESRGAN layouts) and SRVGGNetCompact.'
            )
        inputs = check_inputs(args.image, info.kwargs['num_in_ch'], args.verify_size)
    except (OSError, CheckpointError, WeightsNotFoundError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(
        f'{path}: {info.arch}({", ".join(f"{key}={value!r}" for key, value in info.kwargs.items())}), x{info.netscale}'
    )

    output = os.path.abspath(args.output)
    unverified = f'{output}.unverified'
    try:
        with tqdm(total=1 + len(inputs), desc='export + verify', unit='step') as progress:
            opset = export_onnx(model, unverified, info.kwargs['num_in_ch'], args.opset, args.fp16, args.exporter)
            progress.update()
            session = onnx_session(unverified)
            results = []
            for label, image in inputs:
                results.append((label, output_psnr(torch_forward(model, image), run_onnx(session, image))))
                progress.update()
        for label, value in results:
            print(f'PSNR ONNX Runtime vs PyTorch, {label}: {value:.1f} dB')
        worst = min(value for _, value in results)
        if worst < args.min_psnr:
            print(
                f'error: ONNX Runtime differs from PyTorch ({worst:.1f} dB < {args.min_psnr:g} dB); '
                f'{args.output} was not written.',
                file=sys.stderr,
            )
            return 1
        os.replace(unverified, output)
    finally:
        if os.path.exists(unverified):
            os.remove(unverified)
    precision = 'float16' if args.fp16 else 'float32'
    print(f'Wrote {args.output} ({precision}, opset {opset}, dynamic batch/height/width, checked by onnx.checker)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
