"""Turn a model name and/or weights file into what ``RealESRGANer`` needs: network, scale, weights, DNI blend."""

import os
from dataclasses import dataclass
from typing import Optional, Tuple

from realesrgan.inference.settings import SettingError
from realesrgan.zoo.families import ArchInfo
from realesrgan.zoo.location import resolve_weights_dir
from realesrgan.zoo.table import get_model_spec

__all__ = ['DEFAULT_MODEL_NAME', 'DEFAULT_VIDEO_MODEL', 'ModelChoice', 'choose_model']

DEFAULT_MODEL_NAME = 'RealESRGAN_x4plus'
# the video command line's default model (as the original's)
DEFAULT_VIDEO_MODEL = 'realesr-animevideov3'
DEFAULT_OUTSCALE = 4.0


@dataclass(frozen=True)
class ModelChoice:
    """A resolved model; small and picklable, so that worker processes can build their own upsampler from it.

    Attributes:
        name: Model name (or the weights file name for detected checkpoints).
        network: Which network (architecture, constructor arguments, net scale).
        model_paths: Local weights: one path, or two blended with ``dni_weight``.
        dni_weight: Blend weights of the two paths, or None.
        outscale: The model's default final scale.
    """

    name: str
    network: ArchInfo
    model_paths: Tuple[str, ...]
    dni_weight: Optional[Tuple[float, float]]
    outscale: float

    @property
    def netscale(self) -> int:
        """Upscaling factor of the network."""
        return self.network.netscale


def choose_model(
    model_name: Optional[str] = None,
    model_path: Optional[str] = None,
    denoise_strength: float = 0.5,
    weights_dir: Optional[str] = None,
) -> ModelChoice:
    """Resolve the model of an inference run, as the original CLI does, and find its weights.

    Args:
        model_name: Official model name; None means the default (RealESRGAN_x4plus), or, with ``model_path``,
            the architecture read from the checkpoint.
        model_path: Your own weights (a file or URL) instead of the official ones.
        denoise_strength: For a model with a denoise partner (realesr-general-x4v3) and no ``model_path``: 1 is
            the model alone, 0 its strong-denoise partner alone, values between blend the two
            (``dni_weight = [strength, 1 - strength]``).
        weights_dir: Folder for downloaded and converted official weights; None for the default location
            (:func:`realesrgan.zoo.default_weights_location`).

    Returns:
        The resolved model.

    Raises:
        ValueError: Unknown model name (the message lists the valid ones).
        realesrgan.inference.settings.SettingError: Denoise strength outside [0, 1], or ``weights_dir`` is a file.
        realesrgan.zoo.WeightsNotFoundError: No weights could be found, downloaded or converted (the message names
            every missing file: the model's and its denoise partner's).
        realesrgan.zoo.CheckpointError: ``model_path`` is not a checkpoint of a supported network (ours, an older
            ESRGAN layout, or with the ``models`` extra any architecture spandrel loads).
    """
    # the checkpoint reader and the downloader load torch: only once a model is chosen
    from realesrgan.zoo import WeightsNotFoundError, detect_architecture, load_state_dict, resolve_model_path

    if not 0 <= denoise_strength <= 1:
        raise SettingError('denoise_strength', f'denoise_strength must be between 0 and 1, got {denoise_strength:g}.')
    weights_dir = resolve_weights_dir(weights_dir)
    if os.path.exists(weights_dir) and not os.path.isdir(weights_dir):
        raise SettingError(
            'weights_dir',
            f'weights_dir "{weights_dir}" is a file, not a folder: give a folder for '
            'the downloaded and converted weights.',
        )
    if model_path and model_name is None:
        path = resolve_model_path(None, weights_dir, model_path=model_path)
        network = detect_architecture(load_state_dict(path), source=path)
        return ModelChoice(os.path.basename(path), network, (path,), None, float(network.netscale))

    spec = get_model_spec(model_name or DEFAULT_MODEL_NAME)
    outscale = float(spec.outscale or DEFAULT_OUTSCALE)
    blend = bool(spec.dni_partner and denoise_strength != 1 and not model_path)
    wanted = [(spec.name, model_path)] + ([(spec.dni_partner, None)] if blend else [])
    paths, missing = [], []
    for name, explicit in wanted:  # look for every file first, so that one message names all that are missing
        try:
            paths.append(resolve_model_path(name, weights_dir, model_path=explicit))
        except WeightsNotFoundError as error:
            missing.append(str(error))
    if missing:
        raise WeightsNotFoundError('\n'.join(missing))
    dni_weight = (denoise_strength, 1 - denoise_strength) if blend else None
    return ModelChoice(spec.name, spec.network, tuple(paths), dni_weight, outscale)
