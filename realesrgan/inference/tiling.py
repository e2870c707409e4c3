"""Split an image into overlapping tiles and cross-fade their outputs, so that the seams do not show.

A super-resolution network sees a zero border at every tile edge, and the error this makes reaches far into the
tile (tens of pixels for RRDBNet). The original cut each tile ``tile_pad`` pixels away from its edge, which
leaves visible seams (41.6 dB against the untiled output for RealESRGAN_x4plus at tile 64 / pad 10). Here:

* all tiles of an image have the same input size (the windows of the border tiles are moved inwards instead of
  being clipped), so several tiles can run in one batch, and windows are spread evenly so that every seam gets
  at least the requested context on both sides;
* tiles follow the network's size rules (:class:`~realesrgan.zoo.traits.ModelTraits`): window sizes and positions are
  multiples of ``align``, windows are at least ``minimum`` pixels, and square-only networks get square windows (the
  image is padded first so that every window fits: :func:`tiled_input_size`);
* each output pixel is a weighted mean of the tiles that cover it, with weights that grow steeply with the
  pixel's distance from each tile's inner edges (a softmax over distances). The weights of one axis sum to one,
  so the 2-D weights (row weight times column weight) sum to one over the tile grid, and the output can be
  accumulated in place without a second weight buffer.
"""

import bisect
import math
from dataclasses import dataclass
from typing import Callable, Iterator, List, NamedTuple, Tuple

import numpy as np

from realesrgan.zoo.traits import round_up

__all__ = [
    'DEFAULT_TILE_BLEND',
    'MIN_TILE',
    'TileCallback',
    'AxisPlan',
    'Tile',
    'TilePlan',
    'plan_axis',
    'plan_tiles',
    'tiled_input_size',
    'window_size',
]

# Extra context (input pixels) that every tile seam gets beyond ``tile_pad``. With the CLI's tile_pad of 10 this
# gives RealESRGAN_x4plus tiles that match the untiled output to >= 50 dB (see benchmarks/tiling_quality.py).
DEFAULT_TILE_BLEND = 22
# The smallest tile tried after repeated out-of-memory errors.
MIN_TILE = 32
# Called with (tiles done, tiles in all) of the current image after each batch of tiles.
TileCallback = Callable[[int, int], None]

# Softness of the cross-fade, in input pixels: across a seam the weight goes from 1/2 to 1/(1 + e) in this many
# pixels. Small values approach a hard cut at the seam's middle; the error is lowest with a short, smooth fade.
CROSSFADE_SOFTNESS = 4.0


@dataclass(frozen=True)
class AxisPlan:
    """Tile windows along one image axis.

    Attributes:
        starts: Start of each window, in input pixels.
        size: Size of every window, in input pixels.
        weights: Array (windows, size * scale): blend weight of each window's output pixels; at every output
            position the weights of the windows covering it sum to one.
    """

    starts: Tuple[int, ...]
    size: int
    weights: np.ndarray


class Tile(NamedTuple):
    """One tile of a :class:`TilePlan`: input window ``[top:top + height, left:left + width]``."""

    row: int
    col: int
    top: int
    left: int
    height: int
    width: int


@dataclass(frozen=True)
class TilePlan:
    """The tiles of one image: the grid of row windows times column windows.

    Attributes:
        rows: Windows along the height.
        cols: Windows along the width.
        scale: Upscaling factor of the network (output pixels per input pixel).
    """

    rows: AxisPlan
    cols: AxisPlan
    scale: int

    def __len__(self) -> int:
        return len(self.rows.starts) * len(self.cols.starts)

    def __iter__(self) -> Iterator[Tile]:
        for row, top in enumerate(self.rows.starts):
            for col, left in enumerate(self.cols.starts):
                yield Tile(row, col, top, left, self.rows.size, self.cols.size)

    def batches(self, batch_size: int) -> Iterator[List[Tile]]:
        """Tiles in row-major order, ``batch_size`` at a time (the last batch may be shorter)."""
        tiles = list(self)
        for first in range(0, len(tiles), max(1, batch_size)):
            yield tiles[first : first + max(1, batch_size)]

    def weight(self, tile: Tile) -> np.ndarray:
        """Blend weights of one tile's output, shape (height * scale, width * scale), float32."""
        return np.outer(self.rows.weights[tile.row], self.cols.weights[tile.col])


def _window_starts(length: int, size: int, max_step: int, align: int) -> Tuple[int, ...]:
    """Evenly spread starts of windows of ``size`` over ``length``, ``align``-aligned, no step above ``max_step``."""
    if size >= length:
        return (0,)
    units = (length - size) // align  # the last window ends exactly at `length` (both are multiples of align)
    step_units = max(1, max_step // align)
    gaps = math.ceil(units / step_units)
    return tuple(align * round(index * units / gaps) for index in range(gaps + 1))


def _blend_logits(start: int, size: int, length: int, scale: int, span: slice) -> np.ndarray:
    """A window's logits over the output pixels ``span`` of the axis (``-inf`` where the window does not reach)."""
    centers = (np.arange(span.start, span.stop, dtype=np.float64) + 0.5) / scale
    end = start + size
    # Image borders are not seams: the whole network sees the same zero border there.
    to_start = centers - start if start > 0 else np.full(len(centers), float(size))
    to_end = end - centers if end < length else np.full(len(centers), float(size))
    inside = (centers >= start) & (centers < end)
    return np.where(inside, np.minimum(to_start, to_end) / CROSSFADE_SOFTNESS, -np.inf)


def _blend_weights(length: int, size: int, starts: Tuple[int, ...], scale: int) -> np.ndarray:
    """Softmax over each window's distance to its inner edges, evaluated at every output pixel of the axis.

    Each window's weights need only the windows that overlap it (the others weigh nothing there), so memory and
    time grow with the number of windows, not with windows times the axis length.
    """
    weights = np.empty((len(starts), size * scale))
    for index, start in enumerate(starts):
        span = slice(start * scale, (start + size) * scale)
        neighbours = starts[bisect.bisect_right(starts, start - size) : bisect.bisect_left(starts, start + size)]
        logits = np.stack([_blend_logits(other, size, length, scale, span) for other in neighbours])
        shares = np.exp(logits - logits.max(axis=0, keepdims=True))
        weights[index] = (shares / shares.sum(axis=0, keepdims=True))[neighbours.index(start)]
    return weights


def window_size(tile: int, context: int, align: int = 1, minimum: int = 0) -> int:
    """The size of tile windows before they are clipped to the image: the step plus context on both sides.

    Args:
        tile: Largest step between windows.
        context: Pixels of context every seam gets on each side.
        align: Window sizes are multiples of this.
        minimum: The smallest window the network accepts.

    Returns:
        The window size, a multiple of ``align``.
    """
    return max(round_up(minimum, align), round_up(tile, align) + round_up(2 * context, align))


def plan_axis(length: int, tile: int, context: int, align: int = 1, scale: int = 1, min_size: int = 0) -> AxisPlan:
    """Plan the windows along one axis.

    Args:
        length: Axis length in input pixels (a multiple of ``align``, at least ``min_size``).
        tile: Largest step between windows, i.e. the part of a window not shared with its neighbours.
        context: Pixels of context every seam gets on each side (windows overlap by at least twice this).
        align: Windows start at multiples of this and have sizes that are multiples of it (2 for networks with
            a pixel-unshuffle input, 4 for scale 1).
        scale: Network upscaling factor, for the weights of the output pixels.
        min_size: The smallest window (the network's minimum input size); larger windows leave more context.

    Returns:
        The plan.
    """
    if tile <= 0 or context < 0 or align <= 0 or length <= 0 or length % align or length < min_size:
        raise ValueError(
            f'Invalid tiling: length={length}, tile={tile}, context={context}, align={align}, min_size={min_size} '
            '(the tile must be positive, the context non-negative and the length a multiple of align, at least '
            'min_size).'
        )
    step = round_up(tile, align)
    size = min(length, window_size(tile, context, align, min_size))
    starts = _window_starts(length, size, step, align)
    return AxisPlan(starts, size, _blend_weights(length, size, starts, scale).astype(np.float32))


def tiled_input_size(
    height: int, width: int, tile: int, context: int, align: int = 1, minimum: int = 0, square: bool = False
) -> Tuple[int, int]:
    """The padded size of an image whose tiles follow the size rules (the input size :func:`plan_tiles` needs).

    Args:
        height: Image height (input pixels).
        width: Image width (input pixels).
        tile: Largest step between neighbouring tiles.
        context: Context each seam gets on each side.
        align: Sides are padded to multiples of this.
        minimum: Sides are padded to at least this.
        square: The network takes square inputs only: the short side is padded to at least the tile window.

    Returns:
        ``(height, width)`` after padding.
    """
    height, width = (round_up(max(side, minimum), align) for side in (height, width))
    if square:
        side = min(window_size(tile, context, align, minimum), max(height, width))
        height, width = max(height, side), max(width, side)
    return height, width


def plan_tiles(
    height: int,
    width: int,
    tile: int,
    context: int,
    align: int = 1,
    scale: int = 1,
    minimum: int = 0,
    square: bool = False,
) -> TilePlan:
    """Plan the tiles of an image of ``height`` x ``width`` input pixels (see :func:`plan_axis`).

    Args:
        height: Image height (input pixels; pad it to :func:`tiled_input_size` first).
        width: Image width (input pixels).
        tile: Largest step between neighbouring tiles.
        context: Context each seam gets on each side.
        align: Alignment of window positions and sizes.
        scale: Network upscaling factor.
        minimum: The smallest window the network accepts.
        square: Give every window the same height and width.

    Returns:
        The tile grid with its blend weights.

    Raises:
        ValueError: The image is not padded as :func:`tiled_input_size` says.
    """
    min_size = round_up(minimum, align)
    if square:
        min_size = min(window_size(tile, context, align, minimum), max(height, width))
        if min(height, width) < min_size:
            raise ValueError(
                f'Square tiles of {min_size} px do not fit a {width}x{height} input; pad it to tiled_input_size first.'
            )
    rows = plan_axis(height, tile, context, align, scale, min_size)
    cols = plan_axis(width, tile, context, align, scale, min_size)
    return TilePlan(rows, cols, scale)
