"""Check before a big allocation that the host has the memory, instead of failing (or swapping) half-way."""

import os
from typing import Optional, Tuple

from realesrgan.inference.tiling import tiled_input_size, window_size
from realesrgan.zoo.traits import ModelTraits

__all__ = ['available_memory', 'check_memory', 'check_upscale_memory', 'upscale_memory']

_MEMINFO = '/proc/meminfo'


def available_memory() -> Optional[int]:
    """Bytes of memory available to new allocations without swapping, or None where it cannot be told.

    Returns:
        Linux's ``MemAvailable``, else free physical pages times the page size (POSIX), else None.
    """
    try:
        with open(_MEMINFO, encoding='ascii') as meminfo:
            for line in meminfo:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(needed: int, what: str, advice: str) -> None:
    """Raise a clear error when ``needed`` bytes are more than the host has available.

    Args:
        needed: Bytes the work will allocate.
        what: What needs them, e.g. ``'the 80000x80000 output'``.
        advice: What the user can do instead.

    Raises:
        MemoryError: Not enough memory; the message says how much is needed and available, and what to do.
    """
    available = available_memory()
    if available is not None and needed > available:
        raise MemoryError(
            f'{what} needs about {needed / 2**30:.1f} GiB of memory, but only '
            f'{available / 2**30:.1f} GiB is available: {advice}.'
        )


WORKING_BYTES_PER_PIXEL = 192 * 4
"""Host memory a network's forward pass keeps alive per input pixel it runs on: 192 float32 feature channels (the
widest concatenation of RRDBNet's dense blocks; its upsampling tail runs in bands, see ``network_forward``)."""


def upscale_memory(
    shape: Tuple[int, ...],
    max_range: int,
    scale: int,
    outscale: Optional[float],
    pre_pad: int,
    tile: int,
    context: int,
    rules: ModelTraits,
    network_on_host: bool,
) -> int:
    """Bytes of host memory that upscaling one image takes at its peak, counting every buffer that grows with it.

    The padded input (``pre_pad``, the size rules' padding, a tiled run's padding to whole windows) in float32,
    the float32 network output at the padded size (on the host when tiled or when the network runs there), the
    network's working memory when it runs on the host (one tile window when tiled, else the whole padded image),
    the integer output and the final resize.

    Args:
        shape: The image's shape, ``(H, W)`` or ``(H, W, C)``.
        max_range: 255 or 65535 (the integer output's item size).
        scale: The network's scale.
        outscale: The final scale, or None for ``scale``.
        pre_pad: Reflection padding on the bottom and right.
        tile: Tile size, 0 for untiled.
        context: Context of each tile seam (``tile_pad + tile_blend``).
        rules: The network's size rules.
        network_on_host: Whether the network runs on the CPU.

    Returns:
        The bytes.
    """
    height, width = shape[:2]
    channels = 1 if len(shape) == 2 else shape[2]
    size = (height + pre_pad, width + pre_pad)
    if tile > 0:
        padded = tiled_input_size(*size, tile, context, rules.multiple_of, rules.minimum, rules.square)
        window = window_size(tile, context, rules.multiple_of, rules.minimum)
        network_pixels = min(padded[0], window) * min(padded[1], window)
    else:
        padded = rules.padded_size(*size)
        network_pixels = padded[0] * padded[1]
    padded_pixels = padded[0] * padded[1]
    float_output = 3 * 4 * padded_pixels * scale**2 if tile > 0 or network_on_host else 0
    working = WORKING_BYTES_PER_PIXEL * network_pixels if network_on_host else 0
    itemsize = 2 if max_range == 65535 else 1
    final = outscale if outscale is not None else scale
    integer_output = height * width * scale**2 * channels * itemsize
    resized = int(height * final) * int(width * final) * channels * itemsize if final != scale else 0
    return 3 * 4 * padded_pixels + float_output + working + integer_output + resized


def check_upscale_memory(shape: Tuple[int, ...], needed: int, outscale: Optional[float], scale: int) -> None:
    """:func:`check_memory` for :func:`upscale_memory`'s bytes, with the sizes and what to do in the message.

    Args:
        shape: The image's shape.
        needed: Bytes from :func:`upscale_memory`.
        outscale: The final scale, or None for ``scale``.
        scale: The network's scale.

    Raises:
        MemoryError: Not enough memory.
    """
    height, width = shape[:2]
    final = outscale if outscale is not None else scale
    check_memory(
        needed,
        f'Upscaling the {width}x{height} image to {int(width * final)}x{int(height * final)}',
        'use tiles (-t), a smaller --pre_pad or -s/--outscale, or a smaller image',
    )
