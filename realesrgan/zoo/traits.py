"""What a network needs from its input, and which reduced precisions it tolerates: one record for every model.

Our own families need little (x2 / x1 RRDBNet pixel-unshuffle their input, so sizes must be even / multiples of 4);
architectures loaded through spandrel declare more: window-attention models a minimum size or a multiple of their
window, a few models square inputs only, and many transformers are not safe in fp16. The engine pads whole images
and plans tiles by these rules and leaves out the precisions a model declares unsafe.
"""

from dataclasses import dataclass
from typing import Tuple

__all__ = ['ModelTraits', 'round_up']


def round_up(value: int, multiple: int) -> int:
    """The smallest multiple of ``multiple`` that is at least ``value``."""
    return -(-value // multiple) * multiple


@dataclass(frozen=True)
class ModelTraits:
    """Input size rules and precision support of a network.

    Attributes:
        multiple_of: Input height and width must be multiples of this.
        minimum: Input height and width must be at least this (rounded up to a multiple of ``multiple_of``).
        square: Inputs must be square.
        fp16: fp16 inference is safe.
        bf16: bf16 inference is safe.
    """

    multiple_of: int = 1
    minimum: int = 0
    square: bool = False
    fp16: bool = True
    bf16: bool = True

    def __post_init__(self) -> None:
        if self.multiple_of < 1 or self.minimum < 0:
            raise ValueError(
                f'Size rules need multiple_of >= 1 and minimum >= 0, got {self.multiple_of} and {self.minimum}.'
            )
        object.__setattr__(self, 'minimum', round_up(self.minimum, self.multiple_of))

    def padded_size(self, height: int, width: int) -> Tuple[int, int]:
        """The smallest input size at least ``height`` x ``width`` that the network accepts.

        Args:
            height: Image height.
            width: Image width.

        Returns:
            ``(height, width)`` after padding.
        """
        height, width = (round_up(max(side, self.minimum), self.multiple_of) for side in (height, width))
        if self.square:
            height = width = max(height, width)
        return height, width
