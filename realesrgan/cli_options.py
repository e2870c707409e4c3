"""Command-line flags that both inference scripts add beyond the original's (device, precision, tiling, weights)."""
import argparse

from realesrgan.model_choice import DEFAULT_WEIGHTS_DIR
from realesrgan.precision import PRECISIONS
from realesrgan.utils import DEFAULT_TILE_BLEND

__all__ = ['add_engine_options']


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
