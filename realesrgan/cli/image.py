"""The image command line: ``python inference_realesrgan.py -i inputs -o results`` in a checkout.

The flags and defaults are those of the original script; the work is done by :mod:`realesrgan.batch.job`.
Exit status: 0 when every image was written, 1 when some could not be read, upscaled or written (listed at the end;
files that are not images are only reported), 2 when the run could not start (the message says why).
"""

import argparse
from typing import List, Optional

from tqdm import tqdm

from realesrgan.batch.job import ImageJob, ImageJobError
from realesrgan.batch.plan import EXTENSIONS
from realesrgan.batch.run import run_image_job
from realesrgan.cli.options import (
    add_batch_options,
    add_engine_options,
    add_original_options,
    add_ray_option,
    add_version_option,
    add_worker_options,
    configure_logging,
    report_error,
)
from realesrgan.inference.model_choice import DEFAULT_MODEL_NAME
from realesrgan.zoo import MODEL_ZOO


def build_parser() -> argparse.ArgumentParser:
    """The command-line flags (the original's, then this project's additions)."""
    parser = argparse.ArgumentParser(description='Upscale images with Real-ESRGAN.')
    parser.add_argument('-i', '--input', type=str, default='inputs', help='Input image or folder (default: inputs)')
    parser.add_argument(
        '-n',
        '--model_name',
        type=str,
        default=None,
        help=f'Model name (default {DEFAULT_MODEL_NAME}; with --model_path alone, detected from the '
        f'file): {", ".join(MODEL_ZOO)}',
    )
    add_version_option(parser)
    add_original_options(parser, 'image')
    parser.add_argument(
        '--model_path',
        type=str,
        default=None,
        help='Model weights (file or URL) instead of the official ones of --model_name',
    )
    parser.add_argument('--face_enhance', action='store_true', help='Use GFPGAN to enhance face (needs gfpgan)')
    parser.add_argument(
        '--ext',
        type=str,
        default='auto',
        help=f'Image extension: {", ".join(EXTENSIONS)}. auto (default) means using the same extension as inputs '
        '(images with alpha: png; webp and tif keep alpha too)',
    )
    parser.add_argument(
        '-g',
        '--gpu-id',
        dest='gpu_id',
        type=int,
        default=None,
        help='gpu device to use (default=None) can be 0,1,2 for multi-gpu',
    )
    add_batch_options(parser)
    add_worker_options(parser)
    add_ray_option(parser)
    add_engine_options(parser)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Upscale the images the flags name; returns the exit status (0 all written, 1 some failed, 2 not started)."""
    args = build_parser().parse_args(argv)
    configure_logging()
    try:
        summary = run_image_job(ImageJob.from_args(args), log=tqdm.write)
    except ImageJobError as error:
        return report_error(error)
    print(summary.describe(args.output))
    return 0 if summary.ok else 1
