"""Convert an ncnn Real-ESRGAN model (RRDBNet or SRVGGNetCompact) to a PyTorch checkpoint in the official layout.

Usage:
    python scripts/ncnn2pytorch.py MODEL.param MODEL.bin OUT.pth [--check]

The checkpoint stores the weights under ``params_ema`` (RRDBNet) or ``params`` (SRVGGNetCompact), as the official
release files do, so ``inference_realesrgan.py --model_path OUT.pth`` and the original tools load it.
``--check`` runs the ncnn runtime (``pip install ncnn``) and the converted PyTorch model on the same input and
prints the PSNR between them.
"""

import argparse
import sys
from typing import Optional

import numpy as np
import torch

import realesrgan  # noqa: F401  (makes BasicSR importable before anything else touches it)
from realesrgan.export.parity import output_psnr, torch_forward
from realesrgan.zoo import OFFICIAL_PARAM_KEY, NcnnFormatError, build_model_from_checkpoint, convert_ncnn
from realesrgan.zoo.checkpoint import save_checkpoint


def check_against_ncnn(
    param_path: str, bin_path: str, model: torch.nn.Module, final_resize: Optional[float], size: int
) -> float:
    """PSNR of the PyTorch model against the ncnn runtime on a random image (final resize applied bicubically)."""
    from realesrgan.export.ncnn_runtime import run_ncnn

    image = np.random.default_rng(0).random((size, size, 3), dtype=np.float32)
    return output_psnr(
        run_ncnn(param_path, bin_path, image, num_threads=torch.get_num_threads()),
        torch_forward(model, image, final_resize),
    )


def main() -> int:
    """Parse arguments, convert, write and verify the checkpoint. Returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('param', help='ncnn graph (.param text file)')
    parser.add_argument('bin', help='ncnn weights (.bin)')
    parser.add_argument('output', help='PyTorch checkpoint to write (.pth)')
    parser.add_argument('--check', action='store_true', help='compare with the ncnn runtime (needs pip install ncnn)')
    parser.add_argument('--check-size', type=int, default=32, help='side of the random check image (default 32)')
    args = parser.parse_args()

    try:
        conversion = convert_ncnn(args.param, args.bin)
    except (FileNotFoundError, NcnnFormatError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    info = conversion.info
    numbers = sum(tensor.numel() for tensor in conversion.state_dict.values())
    print(
        f'{info.arch}({", ".join(f"{key}={value!r}" for key, value in info.kwargs.items())}): netscale '
        f'{info.netscale}, {numbers:,} numbers stored as {conversion.storage}'
    )
    if conversion.final_resize:
        print(
            f'Note: the ncnn graph resizes the x{info.netscale} output by {conversion.final_resize:g} at the end; '
            f'the checkpoint holds the x{info.netscale} network: use outscale {conversion.outscale:g} '
            f'(e.g. inference_realesrgan.py -s {conversion.outscale:g}) for the same output size.'
        )

    param_key = OFFICIAL_PARAM_KEY[info.arch]
    save_checkpoint(conversion.state_dict, args.output, param_key)
    model, detected = build_model_from_checkpoint(args.output)
    if detected != info:
        print(f'error: the written checkpoint is detected as {detected}, expected {info}.', file=sys.stderr)
        return 1
    print(f'Wrote {args.output} (weights under {param_key!r})')

    if args.check:
        value = check_against_ncnn(args.param, args.bin, model, conversion.final_resize, args.check_size)
        print(f'PSNR against the ncnn runtime on a random {args.check_size}x{args.check_size} image: {value:.1f} dB')
    return 0


if __name__ == '__main__':
    sys.exit(main())
