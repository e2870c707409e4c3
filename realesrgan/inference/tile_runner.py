"""Run a network on an image, whole or tile by tile, and redo the image when the device gives up.

Two things go wrong on real devices, and neither may end in a black image or a crash that loses the batch:

* reduced precision (fp16 on some GPUs, e.g. GTX 16xx) gives NaN or Inf: the image is redone in fp32;
* the device runs out of memory: the image is redone with fewer tiles per pass, then with smaller tiles (down to
  :data:`~realesrgan.inference.tiling.MIN_TILE`), and only then the error is raised, saying what to do.

No exception is swallowed inside the tile loop: a failing tile fails the attempt, which is retried whole or raised.
"""

import logging
from dataclasses import dataclass
from typing import Callable, Optional, Tuple, TypeVar

import torch
from torch import nn

from realesrgan.inference.network_forward import forward_network
from realesrgan.inference.precision import autocast
from realesrgan.inference.tiling import MIN_TILE, TileCallback, plan_tiles
from realesrgan.zoo.traits import ModelTraits

__all__ = ['NonFiniteOutputError', 'TileCallback', 'TileRunner', 'is_out_of_memory']

logger = logging.getLogger(__name__)

Result = TypeVar('Result')


class NonFiniteOutputError(Exception):
    """The network produced NaN or Inf in reduced precision."""


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is a device (or host) out-of-memory error."""
    if isinstance(error, torch.OutOfMemoryError):
        return True
    message = str(error).lower()
    return isinstance(error, RuntimeError) and ('out of memory' in message or "can't allocate memory" in message)


def _release_cached_memory(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.empty_cache()
    elif device.type == 'mps':
        torch.mps.empty_cache()


@dataclass(frozen=True)
class TileRunner:
    """One network on one device.

    Attributes:
        model: The network, in eval mode, on ``device``.
        device: Where the network runs.
        scale: Upscaling factor of the network.
        channels_last: Feed the network channels-last tensors.
    """

    model: nn.Module
    device: torch.device
    scale: int
    channels_last: bool

    @property
    def memory_format(self) -> torch.memory_format:
        """The memory format of network inputs and of assembled outputs."""
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def forward(self, batch: torch.Tensor, precision: str) -> torch.Tensor:
        """The network's output for ``batch`` in ``precision``.

        Raises:
            NonFiniteOutputError: Reduced precision gave NaN or Inf (redo in fp32).
            ValueError: fp32 gave NaN or Inf (broken weights).
        """
        with autocast(precision, self.device):
            output = forward_network(self.model, batch)
        if not bool(torch.isfinite(output).all()):
            if precision != 'fp32':
                raise NonFiniteOutputError()
            raise ValueError(
                'The network gives NaN or infinite values even in fp32: its weights are broken (check the '
                'checkpoint for NaN or Inf values).'
            )
        return output

    def tiled_forward(
        self,
        image: torch.Tensor,
        precision: str,
        tile: int,
        tile_batch: int,
        context: int,
        rules: ModelTraits,
        crop: Tuple[int, int],
        on_tile: Optional[TileCallback],
    ) -> torch.Tensor:
        """Run ``image`` (on any device) tile by tile; return the output cropped to ``crop``, on the host.

        Args:
            image: (1, C, H, W) network input, padded (to :func:`~realesrgan.inference.tiling.tiled_input_size`).
            precision: ``'fp32'``, ``'fp16'`` or ``'bf16'``.
            tile: Largest step between tiles, in input pixels.
            tile_batch: Tiles per forward pass.
            context: Input pixels every seam gets on both sides (``tile_pad + tile_blend``).
            rules: The network's size rules: tile sizes and positions are multiples of ``rules.multiple_of``
                (pixel-unshuffle networks, window attention), tiles are at least ``rules.minimum`` and square when
                ``rules.square``.
            crop: Output (height, width) to keep.
            on_tile: Called with (tiles done, tiles in all) after each batch.

        Returns:
            The (1, 3, crop height, crop width) float32 output.
        """
        _, _, height, width = image.shape
        scale = self.scale
        plan = plan_tiles(height, width, tile, context, rules.multiple_of, scale, rules.minimum, rules.square)
        output = torch.empty((1, 3) + tuple(crop), dtype=torch.float32, memory_format=self.memory_format).zero_()
        # Tiles whose output lies wholly in the removed padding contribute nothing.
        tiles = [one for one in plan if one.top * scale < crop[0] and one.left * scale < crop[1]]
        expected = (plan.rows.size * scale, plan.cols.size * scale)
        done = 0
        for first in range(0, len(tiles), tile_batch):
            batch_tiles = tiles[first : first + tile_batch]
            batch = torch.cat(
                [image[:, :, one.top : one.top + one.height, one.left : one.left + one.width] for one in batch_tiles]
            ).to(self.device, memory_format=self.memory_format)
            result = self.forward(batch, precision)
            if tuple(result.shape[2:]) != expected:
                raise ValueError(
                    f'The network turned a {plan.rows.size}x{plan.cols.size} tile into '
                    f'{result.shape[2]}x{result.shape[3]}, but scale={scale} was given; pass the '
                    'scale of the network.'
                )
            for index, one in enumerate(batch_tiles):
                top, left = one.top * scale, one.left * scale
                rows, cols = min(expected[0], crop[0] - top), min(expected[1], crop[1] - left)
                weight = torch.from_numpy(plan.weight(one)[:rows, :cols]).to(self.device)
                contribution = result[index, :, :rows, :cols] * weight  # float32, also for fp16/bf16 results
                output[0, :, top : top + rows, left : left + cols] += contribution.to(output.device)
            done += len(batch_tiles)
            if on_tile is not None:
                on_tile(done, len(tiles))
        return output

    def with_retries(
        self, attempt: Callable[[str, int, int], Result], precision: str, tile: int, tile_batch: int, longest_side: int
    ) -> Result:
        """Call ``attempt(precision, tile, tile_batch)``, redoing it in fp32 on NaN/Inf and smaller on out-of-memory.

        Args:
            attempt: One pass over the image with the given precision, tile size (0: whole) and tiles per pass.
            precision: The precision of the first attempt.
            tile: The tile size of the first attempt.
            tile_batch: The tiles per pass of the first attempt.
            longest_side: The image's longest side, from which the first tile size is halved when it ran whole.

        Returns:
            What the successful attempt returned.

        Raises:
            RuntimeError: Out of memory even with :data:`MIN_TILE` pixel tiles, or any other error of the attempt.
        """
        while True:
            try:
                return attempt(precision, tile, tile_batch)
            except NonFiniteOutputError:
                logger.warning(
                    'The %s output has NaN or Inf values (some GPUs do this in fp16); redoing this image in fp32.',
                    precision,
                )
                precision = 'fp32'
                continue
            except RuntimeError as error:  # torch.OutOfMemoryError is a RuntimeError
                if not is_out_of_memory(error):
                    raise
                if tile > 0 and tile_batch > 1:
                    tile_batch //= 2
                elif tile == 0 or tile > MIN_TILE:
                    tile = max(MIN_TILE, (longest_side if tile == 0 else tile) // 2)
                else:
                    raise RuntimeError(
                        f'Out of memory on {self.device} even with tiles of {tile} pixels. Free '
                        'memory on the device, or use a smaller --tile / --tile_pad.'
                    ) from error
            # Out of the except block, the failed pass's tensors are released and the cache can be emptied.
            _release_cached_memory(self.device)
            logger.warning(
                'Out of memory on %s; retrying this image with tile %d (%d per batch).', self.device, tile, tile_batch
            )
