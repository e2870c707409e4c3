"""Reading generator checkpoints (``.pth`` or ``.safetensors``) and writing them in the official layout.

Official files are ``{'params_ema' | 'params': state_dict}`` pickles, read with ``weights_only`` (no code runs);
``.safetensors`` files, which many community models ship as, hold one flat state dict and are read with the
``safetensors`` package. The file's content decides, not its name: a safetensors file starts with the 8-byte length
of a JSON header, then ``{``.
"""

import os
from typing import TYPE_CHECKING, Dict, Optional

if TYPE_CHECKING:
    import torch

from realesrgan.fileio.atomic import atomic_output
from realesrgan.zoo.esrgan_layouts import to_basicsr_keys

__all__ = ['CheckpointError', 'is_safetensors', 'load_state_dict', 'save_checkpoint']

StateDict = Dict[str, 'torch.Tensor']

# Prefix that DataParallel / DistributedDataParallel wrappers add to every key.
_WRAPPER_PREFIX = 'module.'
# Entries under which training tools other than BasicSR keep the weights (when they hold a dict).
_OTHER_PARAM_KEYS = ('params-ema', 'state_dict', 'model_state_dict', 'model', 'net')


class CheckpointError(ValueError):
    """A file is not a generator checkpoint this package can read."""


def _describe_keys(obj: dict, limit: int = 6) -> str:
    keys = list(obj)
    shown = ', '.join(repr(key) for key in keys[:limit])
    return shown + (f', ... ({len(keys)} keys)' if len(keys) > limit else '')


def is_safetensors(path: str) -> bool:
    """Whether ``path`` is a safetensors file, by its content: 8 bytes of header length, then a JSON object.

    PyTorch files start otherwise (a zip archive with ``PK``, a legacy pickle with ``0x80``), so a damaged or cut
    safetensors file is still told apart and reported as one.
    """
    with open(path, 'rb') as file:
        return file.read(9)[8:9] == b'{'


def _read_safetensors(path: str, param_key: Optional[str]) -> Dict[str, object]:
    if param_key is not None:
        raise CheckpointError(
            f'{path} is a safetensors file, which holds one flat state dict: it has no {param_key!r} entry.'
        )
    from safetensors.torch import load_file

    try:
        return load_file(path, device='cpu')
    except Exception as error:  # safetensors raises its own error type (and OSError) for damaged files
        raise CheckpointError(f'{path} is a damaged safetensors file ({type(error).__name__}: {error}).') from None


def _read_pickle(path: str) -> object:
    import torch

    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # torch raises several unrelated types for unreadable files
        raise CheckpointError(
            f'{path} is not a PyTorch checkpoint that can be loaded safely '
            f'({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ""}). '
            'Pass a generator .pth or .safetensors file (e.g. net_g_*.pth or an official model).'
        ) from error


def load_state_dict(path: str, param_key: Optional[str] = None) -> StateDict:
    """Load the generator weights of a checkpoint onto the CPU.

    Official checkpoints keep them under ``params_ema`` (taken when present) or ``params``; a bare state dict
    is accepted too, and so are the entries other tools use (``state_dict``, ``model``, ...) and ``.safetensors``
    files. A ``module.`` prefix left by DataParallel is removed, and ESRGAN checkpoints of the older key layouts
    get BasicSR's RRDBNet names (:func:`realesrgan.zoo.esrgan_layouts.to_basicsr_keys`).

    Args:
        path: Path of the ``.pth`` or ``.safetensors`` file.
        param_key: Take exactly this key (e.g. ``'params'`` to skip the EMA weights); None picks
            ``params_ema``, else ``params``, else another known entry, else the bare dict.

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
    if is_safetensors(path):
        checkpoint = _read_safetensors(path, param_key)
    else:
        checkpoint = _read_pickle(path)
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
    else:
        entry = next(
            (key for key in ('params_ema', 'params', *_OTHER_PARAM_KEYS) if isinstance(checkpoint.get(key), dict)),
            None,
        )
        state_dict = checkpoint if entry is None else checkpoint[entry]

    import torch

    not_tensors = [key for key, value in state_dict.items() if not isinstance(value, torch.Tensor)]
    if not_tensors or not state_dict:
        raise CheckpointError(
            f'{path} has no "params_ema"/"params" entry and is not a bare state dict '
            f'(top-level keys: {_describe_keys(checkpoint)}). A training state (*.state) '
            'is not a model: use the matching net_g_*.pth.'
        )
    if all(key.startswith(_WRAPPER_PREFIX) for key in state_dict):
        state_dict = {key[len(_WRAPPER_PREFIX) :]: value for key, value in state_dict.items()}
    return to_basicsr_keys(state_dict)


def save_checkpoint(state_dict: StateDict, path: str, param_key: str) -> None:
    """Write ``{param_key: state_dict}`` atomically and durably: a crash never leaves a half-written file at ``path``.

    Args:
        state_dict: The weights.
        path: Destination ``.pth``; its folder is created when missing.
        param_key: ``'params_ema'`` or ``'params'`` (see :data:`realesrgan.zoo.families.OFFICIAL_PARAM_KEY`).
    """
    import torch

    with atomic_output(path, durable=True) as tmp_path:
        torch.save({param_key: state_dict}, tmp_path)
