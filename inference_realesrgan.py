"""Upscale images with Real-ESRGAN: ``python inference_realesrgan.py -i inputs -o results``.

The flags and defaults are those of the original script; the work is done by :mod:`realesrgan.image_job`.
Exit status: 0 when every image was written, 1 when some could not be read, upscaled or written (listed at the end;
files that are not images are only reported), 2 when the run could not start (the message says why).
"""
import argparse
import sys
from typing import List, Optional

from tqdm import tqdm

from realesrgan.cli_options import add_engine_options
from realesrgan.image_job import EXTENSIONS, ImageJob, ImageJobError, run_image_job
from realesrgan.model_choice import DEFAULT_MODEL_NAME
from realesrgan.zoo import MODEL_ZOO


def build_parser() -> argparse.ArgumentParser:
    """The command-line flags (the original's, then this project's additions)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-i', '--input', type=str, default='inputs', help='Input image or folder (default: inputs)')
    parser.add_argument('-n', '--model_name', type=str, default=None,
                        help=f'Model name (default {DEFAULT_MODEL_NAME}; with --model_path alone, detected from the '
                        f'file): {", ".join(MODEL_ZOO)}')
    parser.add_argument('-o', '--output', type=str, default='results', help='Output folder (default: results)')
    parser.add_argument('-dn', '--denoise_strength', type=float, default=0.5,
                        help='Denoise strength, for realesr-general-x4v3 only: 0 weak denoise (keeps noise), '
                        '1 strong denoise (default: 0.5)')
    parser.add_argument('-s', '--outscale', type=float, default=None,
                        help='The final upsampling scale of the image (default 4, or 2/3 for the -x2/-x3 models)')
    parser.add_argument('--model_path', type=str, default=None,
                        help='Model weights (file or URL) instead of the official ones of --model_name')
    parser.add_argument('--suffix', type=str, default='out', help='Suffix of the restored image (default: out)')
    parser.add_argument('-t', '--tile', type=int, default=0,
                        help='Tile size, 0 for no tile during testing (default: 0)')
    parser.add_argument('--tile_pad', type=int, default=10, help='Tile padding (default: 10)')
    parser.add_argument('--pre_pad', type=int, default=0, help='Pre padding size at each border (default: 0)')
    parser.add_argument('--face_enhance', action='store_true', help='Use GFPGAN to enhance face (needs gfpgan)')
    parser.add_argument('--fp32', action='store_true',
                        help='Use fp32 precision (same as --precision fp32; the default is fp16 on CUDA, bf16 on '
                        'CPUs with AMX-BF16, fp32 otherwise)')
    parser.add_argument('--alpha_upsampler', type=str, default='realesrgan',
                        help='The upsampler for the alpha channels. Options: realesrgan (default) | bicubic')
    parser.add_argument('--ext', type=str, default='auto', choices=EXTENSIONS,
                        help='Image extension. auto (default) means using the same extension as inputs')
    parser.add_argument('-g', '--gpu-id', dest='gpu_id', type=int, default=None,
                        help='gpu device to use (default=None) can be 0,1,2 for multi-gpu')
    add_engine_options(parser)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        summary = run_image_job(ImageJob(**vars(args)), log=tqdm.write)
    except ImageJobError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    print(summary.describe(args.output))
    return 0 if summary.ok else 1


if __name__ == '__main__':
    sys.exit(main())
