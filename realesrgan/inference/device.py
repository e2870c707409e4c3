"""Choose the device that inference runs on, once: CUDA when present, else Apple MPS, else the CPU."""

from typing import Optional, Union

import torch

__all__ = ['select_device']

DeviceLike = Union[str, torch.device, None]


def _mps_available() -> bool:
    mps = getattr(torch.backends, 'mps', None)
    return bool(mps is not None and mps.is_available())


def select_device(device: DeviceLike = None, gpu_id: Optional[int] = None) -> torch.device:
    """Resolve a device request into a :class:`torch.device`.

    Args:
        device: ``None`` or ``'auto'`` picks CUDA, else MPS, else the CPU; otherwise a device name
            (``'cpu'``, ``'cuda'``, ``'cuda:1'``, ``'mps'``) or a :class:`torch.device`, used as given.
        gpu_id: CUDA device index; applies when the choice is CUDA without an explicit index.

    Returns:
        The device.

    Raises:
        ValueError: The name is not a device, CUDA/MPS was requested but is not available, or ``gpu_id`` does
            not exist.
    """
    if device is None or (isinstance(device, str) and device.strip().lower() == 'auto'):
        if torch.cuda.is_available():
            chosen = torch.device('cuda')
        elif _mps_available():
            chosen = torch.device('mps')
        else:
            chosen = torch.device('cpu')
    else:
        try:
            chosen = torch.device(device)
        except (RuntimeError, TypeError) as error:
            raise ValueError(f'Unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps.') from error

    if chosen.type == 'cuda':
        if not torch.cuda.is_available():
            raise ValueError(
                f'Device {device!r} was requested, but this PyTorch build sees no CUDA GPU. Use --device cpu (or auto).'
            )
        index = chosen.index if chosen.index is not None else (gpu_id or 0)
        if not 0 <= index < torch.cuda.device_count():
            raise ValueError(
                f'GPU {index} does not exist: this machine has {torch.cuda.device_count()} CUDA '
                'device(s), numbered from 0.'
            )
        chosen = torch.device('cuda', index)
    elif chosen.type == 'mps' and not _mps_available():
        raise ValueError(f'Device {device!r} was requested, but MPS is not available here. Use --device cpu.')
    return chosen
