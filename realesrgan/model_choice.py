"""Turn a model name and/or weights file into what ``RealESRGANer`` needs: network, scale, weights, DNI blend."""
import os
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

from torch import nn

from realesrgan.utils import RealESRGANer
from realesrgan.zoo import build_arch, detect_architecture, get_model_spec, load_state_dict, resolve_model_path

__all__ = ['DEFAULT_MODEL_NAME', 'DEFAULT_WEIGHTS_DIR', 'ModelChoice', 'choose_model']

DEFAULT_MODEL_NAME = 'RealESRGAN_x4plus'
DEFAULT_OUTSCALE = 4.0
# Where the original downloads weights to: <repository>/weights.
DEFAULT_WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'weights')


@dataclass(frozen=True)
class ModelChoice:
    """A resolved model.

    Attributes:
        name: Model name (or the weights file name for detected checkpoints).
        arch: ``'RRDBNet'`` or ``'SRVGGNetCompact'``.
        arch_kwargs: Constructor arguments of ``arch``.
        netscale: Upscaling factor of the network.
        model_paths: Local weights: one path, or two blended with ``dni_weight``.
        dni_weight: Blend weights of the two paths, or None.
        outscale: The model's default final scale.
    """

    name: str
    arch: str
    arch_kwargs: dict
    netscale: int
    model_paths: Tuple[str, ...]
    dni_weight: Optional[Tuple[float, float]]
    outscale: float

    def build(self) -> nn.Module:
        """The network with random weights (``RealESRGANer`` loads ``model_paths`` into it)."""
        return build_arch(self.arch, dict(self.arch_kwargs))

    def model_path_argument(self) -> Sequence[str]:
        """``model_path`` for ``RealESRGANer``: the path, or the list of two for DNI."""
        return list(self.model_paths) if self.dni_weight else self.model_paths[0]

    def upsampler(self, **settings: Any) -> RealESRGANer:
        """A ``RealESRGANer`` with this model's network, scale, weights and DNI blend.

        Args:
            **settings: The other ``RealESRGANer`` arguments (tile, tile_pad, pre_pad, device, precision, ...).

        Returns:
            The upsampler, weights loaded.
        """
        return RealESRGANer(
            scale=self.netscale,
            model_path=self.model_path_argument(),
            dni_weight=list(self.dni_weight) if self.dni_weight else None,
            model=self.build(),
            **settings)


def choose_model(model_name: Optional[str] = None,
                 model_path: Optional[str] = None,
                 denoise_strength: float = 0.5,
                 weights_dir: str = DEFAULT_WEIGHTS_DIR) -> ModelChoice:
    """Resolve the model of an inference run, as the original CLI does, and find its weights.

    Args:
        model_name: Official model name; None means the default (RealESRGAN_x4plus), or, with ``model_path``,
            the architecture read from the checkpoint.
        model_path: Your own weights (a file or URL) instead of the official ones.
        denoise_strength: For a model with a denoise partner (realesr-general-x4v3) and no ``model_path``: 1 is
            the model alone, 0 its strong-denoise partner alone, values between blend the two
            (``dni_weight = [strength, 1 - strength]``).
        weights_dir: Folder for downloaded and converted official weights.

    Returns:
        The resolved model.

    Raises:
        ValueError: Unknown model name (the message lists the valid ones) or denoise strength outside [0, 1].
        realesrgan.zoo.WeightsNotFoundError: No weights could be found, downloaded or converted.
        realesrgan.zoo.CheckpointError: ``model_path`` is not a checkpoint of a supported network.
    """
    if not 0 <= denoise_strength <= 1:
        raise ValueError(f'denoise_strength must be between 0 and 1, got {denoise_strength:g}.')
    if model_path and model_name is None:
        path = resolve_model_path(None, weights_dir, model_path=model_path)
        info = detect_architecture(load_state_dict(path))
        return ModelChoice(os.path.basename(path), info.arch, dict(info.kwargs), info.netscale, (path, ), None,
                           float(info.netscale))

    spec = get_model_spec(model_name or DEFAULT_MODEL_NAME)
    outscale = float(spec.outscale or DEFAULT_OUTSCALE)
    paths: Tuple[str, ...] = (resolve_model_path(spec.name, weights_dir, model_path=model_path), )
    dni_weight = None
    if spec.dni_partner and denoise_strength != 1 and not model_path:
        paths += (resolve_model_path(spec.dni_partner, weights_dir), )
        dni_weight = (denoise_strength, 1 - denoise_strength)
    return ModelChoice(spec.name, spec.arch, dict(spec.arch_kwargs), spec.netscale, paths, dni_weight, outscale)
