"""Make the released BasicSR 1.4.2 import and run on current torch, torchvision, numpy and Python.

BasicSR's last release predates several upstream changes. Rather than pinning old versions or editing
site-packages, :func:`apply` adjusts things at run time, before and right after BasicSR is first imported:

* ``torchvision.transforms.functional_tensor`` was removed (torchvision 0.17); BasicSR's degradations import
  ``rgb_to_grayscale`` from it. An alias module pointing at the current implementation is registered.
* ``distutils`` is gone from Python 3.12; BasicSR's ``arch_util`` imports ``distutils.version.LooseVersion``.
  A minimal stand-in is registered only when the real module cannot be imported.
* ``filter2D`` calls ``.view`` on its input, which fails for the non-contiguous tensors ``DiffJPEG`` returns.
* Resuming training used ``torch.load`` onto ``cuda`` with the old unpickling default; on current torch the
  scheduler's ``collections.Counter`` is refused, and CPU-only machines have no ``cuda``.
* Distributed launch and ``DistributedDataParallel`` wrapping assumed CUDA; on CPU-only machines they now
  use the gloo backend and no device ids.

Importing :mod:`realesrgan` calls :func:`apply`; calling it again does nothing.
"""

import collections
import importlib
import importlib.util
import logging
import os
import re
import sys
import types
from typing import Any, Callable, Dict, Optional

import torch

__all__ = ['apply', 'load_training_state']

logger = logging.getLogger(__name__)
_applied = False


def _install_functional_tensor_alias() -> None:
    """Register ``torchvision.transforms.functional_tensor`` as an alias of its current home."""
    name = 'torchvision.transforms.functional_tensor'
    if name in sys.modules:
        return
    try:
        importlib.import_module(name)
        return
    except ImportError:
        pass
    from torchvision.transforms import functional as tv_functional

    try:
        current = importlib.import_module('torchvision.transforms._functional_tensor')
    except ImportError:
        current = tv_functional
    alias = types.ModuleType(name, 'Alias kept by realesrgan.compat for code written for torchvision < 0.17.')
    alias.__dict__.update({key: value for key, value in vars(current).items() if not key.startswith('__')})
    alias.rgb_to_grayscale = getattr(current, 'rgb_to_grayscale', tv_functional.rgb_to_grayscale)
    sys.modules[name] = alias


class _LooseVersion:
    """Stand-in for ``distutils.version.LooseVersion``: compares versions part by part (numbers as numbers)."""

    def __init__(self, vstring: str) -> None:
        self.vstring = str(vstring)
        self.version = [int(part) if part.isdigit() else part for part in re.findall(r'\d+|[a-zA-Z]+', self.vstring)]

    @staticmethod
    def _parts(other: Any) -> list:
        return other.version if isinstance(other, _LooseVersion) else _LooseVersion(other).version

    def __eq__(self, other: Any) -> bool:
        return self.version == self._parts(other)

    def __lt__(self, other: Any) -> bool:
        return self.version < self._parts(other)

    def __le__(self, other: Any) -> bool:
        return self.version <= self._parts(other)

    def __gt__(self, other: Any) -> bool:
        return self.version > self._parts(other)

    def __ge__(self, other: Any) -> bool:
        return self.version >= self._parts(other)

    def __repr__(self) -> str:
        return f"LooseVersion('{self.vstring}')"


def _install_distutils_alias() -> None:
    """Provide ``distutils.version.LooseVersion`` where Python (3.12+) no longer ships distutils."""
    if importlib.util.find_spec('distutils') is not None:
        return
    distutils = types.ModuleType('distutils', 'Minimal stand-in registered by realesrgan.compat.')
    version = types.ModuleType('distutils.version', 'Minimal stand-in registered by realesrgan.compat.')
    version.LooseVersion = _LooseVersion
    distutils.version = version
    sys.modules.setdefault('distutils', distutils)
    sys.modules.setdefault('distutils.version', version)


def _contiguous_filter2d(original: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """Wrap BasicSR's ``filter2D`` so that it accepts non-contiguous images and kernels."""

    def filter2D(img: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:  # noqa: N802 (BasicSR's name)
        return original(img.contiguous(), kernel.contiguous())

    filter2D.__doc__ = original.__doc__
    filter2D.__wrapped__ = original
    return filter2D


def load_training_state(path: str) -> Dict[str, Any]:
    """Load a BasicSR training state (``*.state``) on any device and any torch version.

    States are loaded onto the CPU (optimizers move their state to the parameters' device when they load it)
    with the safe unpickler, which is told about the ``collections.Counter`` that MultiStepLR keeps.

    Args:
        path: Path of the ``.state`` file.

    Returns:
        The training-state dict (``epoch``, ``iter``, ``optimizers``, ``schedulers``).
    """
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals([collections.Counter])
        return torch.load(path, map_location='cpu', weights_only=True)
    return torch.load(path, map_location='cpu')


def _load_resume_state(opt: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """Device-agnostic replacement of ``basicsr.train.load_resume_state`` (same option semantics)."""
    from basicsr.utils import check_resume, scandir

    resume_state_path = None
    if opt['auto_resume']:
        # under the root path the states are saved to (BasicSR looked relative to the working directory)
        state_dir = opt['path'].get('training_states') or os.path.join('experiments', opt['name'], 'training_states')
        if os.path.isdir(state_dir):
            states = [float(name.split('.state')[0]) for name in scandir(state_dir, suffix='state', recursive=False)]
            if states:
                resume_state_path = os.path.join(state_dir, f'{max(states):.0f}.state')
                opt['path']['resume_state'] = resume_state_path
    elif opt['path'].get('resume_state'):
        resume_state_path = opt['path']['resume_state']

    if resume_state_path is None:
        return None
    if not os.path.isfile(resume_state_path):
        raise FileNotFoundError(
            f'Resume state {resume_state_path} does not exist; fix path.resume_state in the '
            'options file or drop it to start from scratch.'
        )
    resume_state = load_training_state(resume_state_path)
    check_resume(opt, resume_state['iter'])
    return resume_state


def _init_dist_pytorch(backend: str = 'nccl', **kwargs: Any) -> None:
    """Start the process group of a ``torchrun`` launch; on machines without CUDA use gloo on the CPU."""
    import torch.distributed as dist

    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', os.environ['RANK'])) % torch.cuda.device_count())
    elif backend == 'nccl':
        logger.warning('No CUDA device: distributed training uses the gloo backend on the CPU instead of nccl.')
        backend = 'gloo'
    dist.init_process_group(backend=backend, **kwargs)


def _model_to_device(self: Any, net: torch.nn.Module) -> torch.nn.Module:
    """Device-agnostic ``BaseModel.model_to_device``: DDP gets device ids only on CUDA."""
    from torch.nn.parallel import DataParallel, DistributedDataParallel

    net = net.to(self.device)
    if self.opt['dist']:
        device_ids = [torch.cuda.current_device()] if self.device.type == 'cuda' else None
        net = DistributedDataParallel(
            net, device_ids=device_ids, find_unused_parameters=self.opt.get('find_unused_parameters', False)
        )
    elif self.opt['num_gpu'] > 1:
        net = DataParallel(net)
    return net


def apply() -> None:
    """Apply every adjustment; idempotent. Must run before BasicSR is first imported."""
    global _applied
    if _applied:
        return
    _install_functional_tensor_alias()
    _install_distutils_alias()

    import basicsr.models.base_model as base_model
    import basicsr.train as basicsr_train
    import basicsr.utils.dist_util as dist_util
    import basicsr.utils.img_process_util as img_process_util

    if not hasattr(img_process_util.filter2D, '__wrapped__'):
        img_process_util.filter2D = _contiguous_filter2d(img_process_util.filter2D)
    basicsr_train.load_resume_state = _load_resume_state
    dist_util._init_dist_pytorch = _init_dist_pytorch
    base_model.BaseModel.model_to_device = _model_to_device
    _applied = True
