"""The engine settings of an upscaling run, as one frozen, validated object.

:class:`UpscaleSettings` is made once, from the command-line flags (:meth:`UpscaleSettings.from_args`) or from
Python, and travels unchanged through the image job, the video job and its worker processes into
:class:`realesrgan.utils.RealESRGANer`. Each setting has its default and its check here, and nowhere else: a new
setting is a new field (with its check), a CLI flag of the same name, and the code that uses it.
"""

import argparse
import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Sequence, Union

from realesrgan.inference.precision import normalize_precision
from realesrgan.inference.tiling import DEFAULT_TILE_BLEND

if TYPE_CHECKING:
    import torch

__all__ = ['ALPHA_UPSAMPLERS', 'DEFAULT_MAX_PIXELS', 'SettingError', 'UpscaleSettings', 'check_outscale', 'fields_from']

# 'realesrgan' runs the alpha channel through the network too; 'bicubic' resizes it (the original's two choices).
ALPHA_UPSAMPLERS = ('realesrgan', 'bicubic')
# 200 megapixels: above the largest camera photos; a 20000x20000 scan (400 MP) is refused unless asked for.
DEFAULT_MAX_PIXELS = 200_000_000


class SettingError(ValueError):
    """A setting has a value it cannot take.

    Attributes:
        name: The setting (and the CLI flag without its dashes).
    """

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name

    def as_flag(self) -> str:
        """The message as a command line says it: ``--tile must be a non-negative integer, got -8.``."""
        message = str(self)
        if message.startswith(self.name):
            return f'--{message}'
        return f'--{self.name}: {message}'


def fields_from(
    cls: type, args: Union[argparse.Namespace, Mapping[str, Any]], exclude: Sequence[str] = ()
) -> Dict[str, Any]:
    """The values of ``args`` (parsed flags, or a mapping) named as the fields of the dataclass ``cls``.

    Args:
        cls: A dataclass whose fields are named as the flags.
        args: Parsed flags, or a mapping of them.
        exclude: Fields not to take.

    Returns:
        ``{field: value}`` for every field of ``cls`` that ``args`` has.
    """
    values = vars(args) if isinstance(args, argparse.Namespace) else args
    return {f.name: values[f.name] for f in dataclasses.fields(cls) if f.name in values and f.name not in exclude}


def _rule(name: str, rule: str, value: Any) -> SettingError:
    return SettingError(name, f'{name} {rule}, got {value!r}.')


def _check_count(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < minimum:
        raise _rule(name, 'must be a non-negative integer' if minimum == 0 else 'must be a positive integer', value)


def check_outscale(outscale: Optional[float]) -> None:
    """Check a final scale: None (the model's own) or a positive, finite number.

    Args:
        outscale: The value to check.

    Raises:
        SettingError: ``outscale`` is zero, negative, infinite or not a number.
    """
    if outscale is not None and not (isinstance(outscale, (int, float)) and math.isfinite(outscale) and outscale > 0):
        raise _rule('outscale', 'must be positive and finite', outscale)


@dataclass(frozen=True)
class UpscaleSettings:
    """How images are upscaled, apart from which model does it.

    Attributes:
        tile: Tile size in input pixels (the largest step between tiles); 0 runs whole images.
        tile_pad: Context each tile takes from its neighbours, as the original.
        pre_pad: Reflection padding added to the bottom and right before the network, removed afterwards.
        tile_blend: Extra context every tile seam gets beyond ``tile_pad``, cross-faded; 0 as the original.
        tile_batch: Tiles per forward pass (same output; faster on GPUs for small tiles).
        precision: ``'auto'``, ``'fp32'``, ``'fp16'`` or ``'bf16'`` (see :mod:`realesrgan.inference.precision`).
        device: ``'auto'`` (CUDA, else MPS, else CPU), a device name or a :class:`torch.device`.
        gpu_id: CUDA device index, for a CUDA device given without one.
        outscale: Final scale; None for the model's own (4, or 2 / 3 for the animevideov3 -x2 / -x3 variants).
        alpha_upsampler: ``'realesrgan'`` (alpha through the network) or ``'bicubic'`` (alpha resized).
        alpha_bleed: Before upscaling an image with alpha, give its fully transparent pixels the colour of the
            nearest visible one, so that the colour hidden under them does not darken the edges
            (:mod:`~realesrgan.inference.alpha_bleed`); False keeps the original's pixels.
        max_pixels: Largest input image, in pixels (height times width); larger ones are refused with a reason.
            0 means no limit.
    """

    tile: int = 0
    tile_pad: int = 10
    pre_pad: int = 0
    tile_blend: int = DEFAULT_TILE_BLEND
    tile_batch: int = 1
    precision: str = 'auto'
    device: Union[str, 'torch.device'] = 'auto'
    gpu_id: Optional[int] = None
    outscale: Optional[float] = None
    alpha_upsampler: str = 'realesrgan'
    alpha_bleed: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        for name in ('tile', 'tile_pad', 'pre_pad', 'tile_blend'):
            _check_count(name, getattr(self, name), 0)
        _check_count('tile_batch', self.tile_batch, 1)
        _check_count('max_pixels', self.max_pixels, 0)
        try:
            object.__setattr__(self, 'precision', normalize_precision(self.precision))
        except ValueError as error:
            raise SettingError('precision', str(error)) from None
        if self.gpu_id is not None:
            _check_count('gpu_id', self.gpu_id, 0)
        check_outscale(self.outscale)
        if self.alpha_upsampler not in ALPHA_UPSAMPLERS:
            raise _rule('alpha_upsampler', f'must be one of {", ".join(ALPHA_UPSAMPLERS)}', self.alpha_upsampler)
        if not isinstance(self.alpha_bleed, bool):
            raise _rule('alpha_bleed', 'must be True or False', self.alpha_bleed)

    @classmethod
    def from_args(cls, args: Union[argparse.Namespace, Mapping[str, Any]]) -> 'UpscaleSettings':
        """The settings of a command line: every field taken from the flag of the same name, when present.

        The original's ``--fp32`` flag means ``precision='fp32'``.

        Args:
            args: Parsed flags, or a mapping of them.

        Returns:
            The settings.

        Raises:
            SettingError: A flag has a value its setting cannot take (:meth:`SettingError.as_flag` says it as the
                command line's flag).
        """
        values = dict(vars(args) if isinstance(args, argparse.Namespace) else args)
        if values.get('fp32'):
            values['precision'] = 'fp32'
        return cls(**fields_from(cls, values))

    def replace(self, **changes: Any) -> 'UpscaleSettings':
        """A copy with some settings changed (and checked)."""
        return dataclasses.replace(self, **changes)
