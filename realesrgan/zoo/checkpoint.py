"""Reading and writing generator checkpoints in the official layout (``{'params_ema' | 'params': state_dict}``)."""

import os
from typing import Dict, Optional

import torch

from realesrgan.fileio.atomic import atomic_output

__all__ = ['CheckpointError', 'load_state_dict', 'save_checkpoint']

StateDict = Dict[str, torch.Tensor]

# Prefix that DataParallel / DistributedDataParallel wrappers add to every key.
_WRAPPER_PREFIX = 'module.'


class CheckpointError(ValueError):
    """A file is not a generator checkpoint this package can read."""


def _describe_keys(obj: dict, limit: int = 6) -> str:
    keys = list(obj)
    shown = ', '.join(repr(key) for key in keys[:limit])
    return shown + (f', ... ({len(keys)} keys)' if len(keys) > limit else '')


def load_state_dict(path: str, param_key: Optional[str] = None) -> StateDict:
    """Load the generator weights of a checkpoint onto the CPU.

    Official checkpoints keep them under ``params_ema`` (taken when present) or ``params``; a bare state dict
    is accepted too. A ``module.`` prefix left by DataParallel is removed.

    Args:
        path: Path of the ``.pth`` file.
        param_key: Take exactly this key (e.g. ``'params'`` to skip the EMA weights); None picks
            ``params_ema``, else ``params``, else the bare dict.

    Returns:
        The state dict (parameter name -> tensor).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: The file cannot be read or holds no state dict.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f'Checkpoint {path} does not exist; check the path (or give a model name to use official weights).'
        )
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # torch raises several unrelated types for unreadable files
        raise CheckpointError(
            f'{path} is not a PyTorch checkpoint that can be loaded safely '
            f'({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ""}). '
            'Pass a generator .pth file (e.g. net_g_*.pth or an official model).'
        ) from error
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f'{path} holds a {type(checkpoint).__name__}, not a dict of weights; save '
            'model.state_dict() (optionally under "params") instead of the whole model.'
        )

    if param_key is not None:
        if param_key not in checkpoint:
            raise CheckpointError(
                f'{path} has no {param_key!r} entry; its top-level keys are {_describe_keys(checkpoint)}.'
            )
        state_dict = checkpoint[param_key]
    elif 'params_ema' in checkpoint:
        state_dict = checkpoint['params_ema']
    elif 'params' in checkpoint:
        state_dict = checkpoint['params']
    else:
        state_dict = checkpoint

    not_tensors = [key for key, value in state_dict.items() if not isinstance(value, torch.Tensor)]
    if not_tensors or not state_dict:
        raise CheckpointError(
            f'{path} has no "params_ema"/"params" entry and is not a bare state dict '
            f'(top-level keys: {_describe_keys(checkpoint)}). A training state (*.state) '
            'is not a model: use the matching net_g_*.pth.'
        )
    if all(key.startswith(_WRAPPER_PREFIX) for key in state_dict):
        state_dict = {key[len(_WRAPPER_PREFIX) :]: value for key, value in state_dict.items()}
    return state_dict


def save_checkpoint(state_dict: StateDict, path: str, param_key: str) -> None:
    """Write ``{param_key: state_dict}`` atomically and durably: a crash never leaves a half-written file at ``path``.

    Args:
        state_dict: The weights.
        path: Destination ``.pth``; its folder is created when missing.
        param_key: ``'params_ema'`` or ``'params'`` (see :data:`realesrgan.zoo.families.OFFICIAL_PARAM_KEY`).
    """
    with atomic_output(path, durable=True) as tmp_path:
        torch.save({param_key: state_dict}, tmp_path)
