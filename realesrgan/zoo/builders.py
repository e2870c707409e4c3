"""The two generator architectures of the official Real-ESRGAN models and how their checkpoints store them."""
from typing import Any, Callable, Dict, Mapping, Optional

import torch
from basicsr.archs.rrdbnet_arch import RRDBNet
from torch import nn

from realesrgan.archs.srvgg_arch import SRVGGNetCompact

__all__ = ['ARCH_BUILDERS', 'OFFICIAL_PARAM_KEY', 'build_arch']

ARCH_BUILDERS: Dict[str, Callable[..., nn.Module]] = {
    'RRDBNet': RRDBNet,
    'SRVGGNetCompact': SRVGGNetCompact,
}

# Official release files keep the EMA weights of RRDBNet models and the plain weights of SRVGGNetCompact models.
OFFICIAL_PARAM_KEY: Dict[str, str] = {
    'RRDBNet': 'params_ema',
    'SRVGGNetCompact': 'params',
}


def build_arch(arch: str, kwargs: Mapping[str, Any], device: Optional[torch.device] = None) -> nn.Module:
    """Instantiate one of the supported generator architectures in eval mode.

    Args:
        arch: ``'RRDBNet'`` or ``'SRVGGNetCompact'``.
        kwargs: Constructor arguments of the architecture.
        device: Where to create the parameters; ``torch.device('meta')`` builds a shape-only model cheaply.
            Defaults to the CPU.

    Returns:
        The network, in eval mode.
    """
    if arch not in ARCH_BUILDERS:
        raise ValueError(f'Unknown architecture {arch!r}; supported: {", ".join(ARCH_BUILDERS)}.')
    with torch.device(device or 'cpu'):
        model = ARCH_BUILDERS[arch](**kwargs)
    return model.eval()
