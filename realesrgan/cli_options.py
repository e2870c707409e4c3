"""Command-line flags that both inference scripts share: the original's common ones, and this project's additions."""
import argparse

from realesrgan.model_choice import DEFAULT_WEIGHTS_DIR
from realesrgan.precision import PRECISIONS
from realesrgan.utils import DEFAULT_TILE_BLEND

__all__ = ['add_engine_options', 'add_original_options']


def add_original_options(parser: argparse.ArgumentParser, subject: str) -> None:
    """Add the original's flags common to both scripts, with its defaults.

    They are ``-o``, ``-dn``, ``-s``, ``--suffix``, ``-t``, ``--tile_pad``, ``--pre_pad``, ``--fp32`` and
    ``--alpha_upsampler``.

    Args:
        parser: The parser of ``inference_realesrgan.py`` or ``inference_realesrgan_video.py``.
        subject: What the script restores (``'image'`` or ``'video'``), for the help texts.
    """
    parser.add_argument('-o', '--output', type=str, default='results', help='Output folder (default: results)')
    parser.add_argument('-dn', '--denoise_strength', type=float, default=0.5,
                        help='Denoise strength, for realesr-general-x4v3 only: 0 weak denoise (keeps noise), '
                        '1 strong denoise (default: 0.5)')
    parser.add_argument('-s', '--outscale', type=float, default=None,
                        help=f'The final upsampling scale of the {subject} (default 4, or 2/3 for the -x2/-x3 models)')
    parser.add_argument('--suffix', type=str, default='out', help=f'Suffix of the restored {subject} (default: out)')
    parser.add_argument('-t', '--tile', type=int, default=0,
                        help='Tile size, 0 for no tile during testing (default: 0)')
    parser.add_argument('--tile_pad', type=int, default=10, help='Tile padding (default: 10)')
    parser.add_argument('--pre_pad', type=int, default=0, help='Pre padding size at each border (default: 0)')
    parser.add_argument('--fp32', action='store_true',
                        help='Use fp32 precision (same as --precision fp32; the default is fp16 on CUDA, bf16 on '
                        'CPUs with AMX-BF16, fp32 otherwise)')
    parser.add_argument('--alpha_upsampler', type=str, default='realesrgan',
                        help='The upsampler for the alpha channels. Options: realesrgan (default) | bicubic')


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--device``, ``--precision``, ``--tile_blend``, ``--tile_batch`` and ``--model_dir`` to a parser.

    Args:
        parser: The parser of ``inference_realesrgan.py`` or ``inference_realesrgan_video.py``.
    """
    parser.add_argument('--device', type=str, default='auto',
                        help='auto (CUDA, else MPS, else CPU), cpu, cuda, cuda:N or mps (default: auto)')
    parser.add_argument('--precision', type=str, default='auto', choices=PRECISIONS,
                        help='Numeric precision (default: auto = fp16 on CUDA, bf16 on CPUs with AMX-BF16, '
                        'else fp32)')
    parser.add_argument('--tile_blend', type=int, default=DEFAULT_TILE_BLEND,
                        help='Extra context of each tile seam beyond --tile_pad, cross-faded '
                        f'(default: {DEFAULT_TILE_BLEND}; 0: as the original)')
    parser.add_argument('--tile_batch', type=int, default=1, help='Tiles per forward pass (default: 1)')
    parser.add_argument('--model_dir', type=str, default=DEFAULT_WEIGHTS_DIR,
                        help='Folder of downloaded/converted weights (default: weights/ of the repository)')
