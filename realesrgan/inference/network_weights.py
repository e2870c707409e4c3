"""Weights into a network for inference: one checkpoint, or two blended by deep network interpolation (DNI)."""

import os
from typing import Any, Dict, Optional, Sequence, Union

import torch
from torch import nn

from realesrgan.zoo import load_state_dict, resolve_model_path

__all__ = ['blend_checkpoints', 'load_weights', 'local_weights']

StateDict = Dict[str, torch.Tensor]


def local_weights(model_path: Union[str, 'os.PathLike[str]'], weights_dir: Optional[str] = None) -> str:
    """A local file with the weights: ``model_path`` itself, or its download into ``weights_dir`` for a URL.

    Downloads go through the checked downloader of :mod:`realesrgan.zoo.downloads` (temporary name, loaded once,
    then renamed), so a broken transfer never ends up under the final name.

    Args:
        model_path: A local ``.pth`` or an ``http(s)://`` URL.
        weights_dir: Folder of downloaded weights; None for the default location
            (:func:`realesrgan.zoo.default_weights_location`).

    Returns:
        The local path.

    Raises:
        realesrgan.zoo.WeightsNotFoundError: The file does not exist, or the download failed.
    """
    return resolve_model_path(None, weights_dir, model_path=os.fspath(model_path))


def load_weights(model: nn.Module, state_dict: StateDict, source: Any) -> None:
    """Load ``state_dict`` into ``model`` exactly (every key, every shape).

    Args:
        model: The network.
        state_dict: Its weights.
        source: Where the weights came from, for the message.

    Raises:
        ValueError: The weights do not fit the network; the message says how to find the right one.
    """
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        details = ' '.join(str(error).split())[:600]
        raise ValueError(
            f'The weights from {source} do not fit {type(model).__name__}: {details}. Pass the '
            'network these weights were trained for as model= (realesrgan.zoo.'
            'build_model_from_checkpoint detects it from the file).'
        ) from None


def blend_checkpoints(path_a: str, path_b: str, dni_weight: Sequence[float], loc: str = 'cpu') -> StateDict:
    """Deep network interpolation: ``dni_weight[0] * a + dni_weight[1] * b``, parameter by parameter.

    Args:
        path_a: First checkpoint (local path).
        path_b: Second checkpoint of the same architecture.
        dni_weight: The two blend weights.
        loc: Device of the blended tensors.

    Returns:
        The blended state dict. Each checkpoint contributes the weights loading would take from it
        (``params_ema``, else ``params``, else the bare dict).

    Raises:
        ValueError: The two checkpoints are different networks.
    """
    state_a, state_b = load_state_dict(path_a), load_state_dict(path_b)
    mismatched = sorted(set(state_a) ^ set(state_b)) or [
        name for name in state_a if state_a[name].shape != state_b[name].shape
    ]
    if mismatched:
        raise ValueError(
            f'{path_a} and {path_b} are different networks and cannot be interpolated '
            f'(first differing parameters: {", ".join(mismatched[:3])}).'
        )
    return {name: (dni_weight[0] * value + dni_weight[1] * state_b[name]).to(loc) for name, value in state_a.items()}
