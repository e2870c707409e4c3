"""The original's import path: ``from realesrgan.utils import RealESRGANer`` (and its reader/writer threads).

The engine lives in :mod:`realesrgan.inference.upsampler`, the threads in :mod:`realesrgan.fileio.threads`.
"""

from realesrgan.fileio.threads import IOConsumer, PrefetchReader, ReadResult
from realesrgan.inference.tiling import DEFAULT_TILE_BLEND
from realesrgan.inference.upsampler import RealESRGANer

__all__ = ['DEFAULT_TILE_BLEND', 'IOConsumer', 'PrefetchReader', 'ReadResult', 'RealESRGANer']
