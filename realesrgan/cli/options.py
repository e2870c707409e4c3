"""Command-line flags that both inference scripts share: the original's common ones, and this project's additions.

Each engine flag is named as its :class:`~realesrgan.inference.settings.UpscaleSettings` field and takes its
default from there, so :meth:`UpscaleSettings.from_args` turns the parsed flags into settings; the checks of the
values are the settings' own (a bad value is reported as ``--flag ...`` with exit status 2).
"""

import argparse
import logging
import sys
from typing import Union

import cv2

from realesrgan.execution.ray_executor import EMBEDDED
from realesrgan.inference.precision import PRECISIONS
from realesrgan.inference.settings import ALPHA_UPSAMPLERS, UpscaleSettings
from realesrgan.version import __version__
from realesrgan.zoo import WEIGHTS_ENV, default_weights_location

__all__ = [
    'add_batch_options',
    'add_engine_options',
    'add_original_options',
    'add_ray_option',
    'add_version_option',
    'add_worker_options',
    'configure_logging',
    'report_error',
    'weights_dir_help',
]

DEFAULTS = UpscaleSettings()


def add_original_options(parser: argparse.ArgumentParser, subject: str) -> None:
    """Add the original's flags common to both scripts, with its defaults.

    They are ``-o``, ``-dn``, ``-s``, ``--suffix``, ``-t``, ``--tile_pad``, ``--pre_pad``, ``--fp32`` and
    ``--alpha_upsampler``.

    Args:
        parser: The parser of ``inference_realesrgan.py`` or ``inference_realesrgan_video.py``.
        subject: What the script restores (``'image'`` or ``'video'``), for the help texts.
    """
    parser.add_argument('-o', '--output', type=str, default='results', help='Output folder (default: results)')
    parser.add_argument(
        '-dn',
        '--denoise_strength',
        type=float,
        default=0.5,
        help='Denoise strength, for realesr-general-x4v3 only: 0 weak denoise (keeps noise), '
        '1 strong denoise (default: 0.5)',
    )
    parser.add_argument(
        '-s',
        '--outscale',
        type=float,
        default=DEFAULTS.outscale,
        help=f'The final upsampling scale of the {subject} (default 4, or 2/3 for the -x2/-x3 models)',
    )
    parser.add_argument('--suffix', type=str, default='out', help=f'Suffix of the restored {subject} (default: out)')
    parser.add_argument(
        '-t',
        '--tile',
        type=int,
        default=DEFAULTS.tile,
        help=f'Tile size, 0 for no tile during testing (default: {DEFAULTS.tile})',
    )
    parser.add_argument(
        '--tile_pad', type=int, default=DEFAULTS.tile_pad, help=f'Tile padding (default: {DEFAULTS.tile_pad})'
    )
    parser.add_argument(
        '--pre_pad',
        type=int,
        default=DEFAULTS.pre_pad,
        help=f'Pre padding size at each border (default: {DEFAULTS.pre_pad})',
    )
    parser.add_argument(
        '--fp32',
        action='store_true',
        help='Use fp32 precision (same as --precision fp32; the default is fp16 on CUDA, bf16 on '
        'CPUs with AMX-BF16 (Intel) or full-width AVX512-BF16 (AMD Zen 5), fp32 otherwise)',
    )
    parser.add_argument(
        '--alpha_upsampler',
        type=str,
        default=DEFAULTS.alpha_upsampler,
        help=f'The upsampler for the alpha channels. Options: {" | ".join(ALPHA_UPSAMPLERS)} '
        f'(default: {DEFAULTS.alpha_upsampler})',
    )


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--device``, ``--precision``, ``--tile_blend``, ``--tile_batch``, ``--max_pixels``, ``--weights_dir``.

    Args:
        parser: The parser of ``inference_realesrgan.py`` or ``inference_realesrgan_video.py``.
    """
    parser.add_argument(
        '--device',
        type=str,
        default=DEFAULTS.device,
        help='auto (CUDA, else MPS, else CPU), cpu, cuda, cuda:N or mps; a comma-separated list such as '
        f'cuda:0,cuda:1 runs worker processes on each device listed (default: {DEFAULTS.device})',
    )
    parser.add_argument(
        '--precision',
        type=str,
        default=DEFAULTS.precision,
        help=f'Numeric precision: {", ".join(PRECISIONS)} (default: {DEFAULTS.precision} = fp16 on '
        'CUDA, bf16 on CPUs with AMX-BF16 (Intel) or full-width AVX512-BF16 (AMD Zen 5), else fp32)',
    )
    parser.add_argument(
        '--tile_blend',
        type=int,
        default=DEFAULTS.tile_blend,
        help='Extra context of each tile seam beyond --tile_pad, cross-faded '
        f'(default: {DEFAULTS.tile_blend}; 0: as the original)',
    )
    parser.add_argument(
        '--tile_batch',
        type=int,
        default=DEFAULTS.tile_batch,
        help=f'Tiles per forward pass (default: {DEFAULTS.tile_batch})',
    )
    parser.add_argument(
        '--max_pixels',
        type=int,
        default=DEFAULTS.max_pixels,
        help=f'Largest input image in pixels, height x width; larger ones are refused (default: '
        f'{DEFAULTS.max_pixels}; 0: no limit)',
    )
    parser.add_argument(
        '--weights_dir',
        '--model_dir',
        dest='weights_dir',
        type=str,
        default=None,
        help=weights_dir_help(),
    )


def weights_dir_help() -> str:
    """The help of ``--weights_dir``: the order in which the weights folder is chosen, and the folder it is now."""
    location = default_weights_location()
    here = f'{location.path} ({location.source})'.replace('%', '%%')  # argparse formats help texts with %
    return (
        f'Folder of downloaded and converted weights. Default: ${WEIGHTS_ENV} if set, else weights/ of the '
        'checkout when run from one, else $XDG_CACHE_HOME/realesrgan/weights (~/.cache/realesrgan/weights); '
        f'here: {here}'
    )


def add_worker_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--num_process_per_gpu``, the number of worker processes per device.

    Args:
        parser: The parser of ``inference_realesrgan.py`` or ``inference_realesrgan_video.py``.
    """
    parser.add_argument(
        '--num_process_per_gpu',
        type=int,
        default=1,
        help='Worker processes per device: per GPU (every GPU with --device auto or cuda, or each device of a '
        'list), or that many on the CPU of a machine without GPU (default: 1)',
    )


def add_ray_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--ray [ADDRESS]``: run the workers on Ray (the ``cluster`` extra), embedded or on a cluster.

    Args:
        parser: The parser of either inference script, or of the web page.
    """
    parser.add_argument(
        '--ray',
        nargs='?',
        const=EMBEDDED,
        default=None,
        metavar='ADDRESS',
        help='Run the workers on Ray (pip install "realesrgan[cluster]"): --ray alone starts a local Ray on this '
        'machine; --ray ADDRESS uses a running cluster (auto, ray://host:10001 or host:6379), one worker per GPU '
        '(--num_process_per_gpu per GPU) or per node on CPUs; inputs and -o on a filesystem every node sees '
        '(default: no Ray, this machine only)',
    )


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    """Add the image command line's flags for folders, formats, metadata and alpha edges.

    They are ``--quality``, ``--strip_metadata``, ``--recursive``, ``--skip_existing`` and ``--alpha_bleed``.

    Args:
        parser: The parser of ``inference_realesrgan.py``.
    """
    parser.add_argument(
        '--quality',
        type=int,
        default=None,
        help="JPEG and WebP quality, 1 to 100; 100 makes WebP lossless (default: as the original, OpenCV's "
        'defaults: JPEG 95, lossless WebP)',
    )
    parser.add_argument(
        '--strip_metadata',
        action='store_true',
        help='Write no metadata (by default EXIF, the ICC profile, PNG text and DPI are copied from each input; '
        'pixel dimensions and DPI follow the output size)',
    )
    parser.add_argument(
        '--recursive',
        action='store_true',
        help='Upscale every image under the input folder, outputs in the same sub-folders under -o',
    )
    parser.add_argument(
        '--skip_existing',
        action='store_true',
        help='Leave the images whose output file exists alone: run a stopped job again to finish it',
    )
    parser.add_argument(
        '--alpha_bleed',
        action='store_true',
        help='Before upscaling an image with alpha, give its fully transparent pixels the colour of the nearest '
        "visible one: no dark or coloured fringes at the edges (default: off, the original's pixels)",
    )


def add_version_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--version``: print the package's version and exit.

    Args:
        parser: A command line's parser.
    """
    parser.add_argument('--version', action='version', version=f'%(prog)s (realesrgan) {__version__}')


def report_error(error: Union[str, BaseException]) -> int:
    """Print ``error: <message>`` on stderr for a run that could not start; returns its exit status, 2."""
    print(f'error: {error}', file=sys.stderr)
    return 2


def configure_logging() -> None:
    """Show warnings of the package on stderr, and the one-time weight downloads and conversions as they start.

    OpenCV's own log lines (e.g. for a corrupt PNG) are silenced: the job reports each unreadable file itself.
    """
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s: %(message)s')
    logging.getLogger('realesrgan.zoo.downloads').setLevel(logging.INFO)
    opencv_log = getattr(getattr(cv2, 'utils', None), 'logging', None)
    if opencv_log is not None:
        opencv_log.setLogLevel(opencv_log.LOG_LEVEL_SILENT)
