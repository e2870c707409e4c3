"""Make the released BasicSR 1.4.2 import and run on current torch, torchvision, numpy and Python.

BasicSR's last release predates several upstream changes. Rather than pinning old versions or editing
site-packages, this module adjusts things at run time:

* ``torchvision.transforms.functional_tensor`` was removed (torchvision 0.17); BasicSR's degradations import
  ``rgb_to_grayscale`` from it. Importing it gives an alias of the current implementation.
* ``distutils`` is gone from Python 3.12; BasicSR's ``arch_util`` imports ``distutils.version.LooseVersion``.
  Importing it gives a minimal stand-in, only where no real ``distutils`` can be found.
* ``filter2D`` calls ``.view`` on its input, which fails for the non-contiguous tensors ``DiffJPEG`` returns.
* Resuming training used ``torch.load`` onto ``cuda`` with the old unpickling default; on current torch the
  scheduler's ``collections.Counter`` is refused, and CPU-only machines have no ``cuda``.
* Distributed launch and ``DistributedDataParallel`` wrapping assumed CUDA; on CPU-only machines they now
  use the gloo backend and no device ids.
* BasicSR's registries load this package's plugins (:data:`PLUGIN_PACKAGES`) before their first lookup, so that
  ``build_network({'type': 'SRVGGNetCompact'})`` and the training pipeline find them after ``import realesrgan``.

Importing :mod:`realesrgan` calls :func:`install`, which imports neither BasicSR nor torch: an import hook serves
the two stand-in modules when something imports them, and patches BasicSR right after BasicSR is first imported
(at once, when it already is). :func:`apply` does it all now. Calling either again does nothing.
"""

import collections
import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import re
import sys
import types
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Sequence

if TYPE_CHECKING:
    import torch

__all__ = ['PLUGIN_PACKAGES', 'apply', 'install', 'load_training_state']

logger = logging.getLogger(__name__)
_applied = False

#: Subpackages whose modules register classes and functions in BasicSR's registries when imported.
PLUGIN_PACKAGES = ('realesrgan.archs', 'realesrgan.data', 'realesrgan.models', 'realesrgan.metrics')
_plugins_state = {'loaded': False, 'loading': False}


def _fill_functional_tensor(alias: types.ModuleType) -> None:
    """Fill the ``torchvision.transforms.functional_tensor`` stand-in from the module that holds its code now."""
    from torchvision.transforms import functional as tv_functional

    try:
        current = importlib.import_module('torchvision.transforms._functional_tensor')
    except ImportError:
        current = tv_functional
    alias.__doc__ = 'Alias kept by realesrgan.compat for code written for torchvision < 0.17.'
    alias.__dict__.update({key: value for key, value in vars(current).items() if not key.startswith('__')})
    alias.rgb_to_grayscale = getattr(current, 'rgb_to_grayscale', tv_functional.rgb_to_grayscale)


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


def _fill_distutils(package: types.ModuleType) -> None:
    package.__doc__ = 'Minimal stand-in served by realesrgan.compat where Python (3.12+) has no distutils.'


def _fill_distutils_version(version: types.ModuleType) -> None:
    version.__doc__ = 'Minimal stand-in served by realesrgan.compat: LooseVersion only.'
    version.LooseVersion = _LooseVersion


# module name -> how to fill its stand-in, served only when no other finder has the module
_STAND_INS: Dict[str, Callable[[types.ModuleType], None]] = {
    'torchvision.transforms.functional_tensor': _fill_functional_tensor,
    'distutils': _fill_distutils,
    'distutils.version': _fill_distutils_version,
}


def _contiguous_filter2d(original: Callable[..., 'torch.Tensor']) -> Callable[..., 'torch.Tensor']:
    """Wrap BasicSR's ``filter2D`` so that it accepts non-contiguous images and kernels."""

    def filter2D(img: 'torch.Tensor', kernel: 'torch.Tensor') -> 'torch.Tensor':  # noqa: N802 (BasicSR's name)
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
    import torch

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
    import torch
    import torch.distributed as dist

    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', os.environ['RANK'])) % torch.cuda.device_count())
    elif backend == 'nccl':
        logger.warning('No CUDA device: distributed training uses the gloo backend on the CPU instead of nccl.')
        backend = 'gloo'
    dist.init_process_group(backend=backend, **kwargs)


def _model_to_device(self: Any, net: 'torch.nn.Module') -> 'torch.nn.Module':
    """Device-agnostic ``BaseModel.model_to_device``: DDP gets device ids only on CUDA."""
    import torch
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


def _load_plugins() -> None:
    """Import :data:`PLUGIN_PACKAGES` once, so that their classes are in BasicSR's registries."""
    if _plugins_state['loaded'] or _plugins_state['loading']:
        return
    _plugins_state['loading'] = True
    try:
        for package in PLUGIN_PACKAGES:
            importlib.import_module(package)
        _plugins_state['loaded'] = True
    finally:
        _plugins_state['loading'] = False


def _loading_plugins_first(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a ``Registry`` method so that the plugins are imported before it reads the registry."""

    @functools.wraps(method)
    def reading(self: Any, *args: Any, **kwargs: Any) -> Any:
        _load_plugins()
        return method(self, *args, **kwargs)

    reading.__wrapped__ = method
    return reading


def _make_registries_load_plugins() -> None:
    """Make every read of a BasicSR registry (``get``, ``in``, iteration, ``keys``) see this package's plugins."""
    from basicsr.utils.registry import Registry

    for name in ('get', '__contains__', '__iter__', 'keys'):
        method = getattr(Registry, name)
        if not hasattr(method, '__wrapped__'):
            setattr(Registry, name, _loading_plugins_first(method))


def _after_basicsr() -> None:
    """Patch the BasicSR functions that fail on current torch or on CPU-only machines; hook the registries."""
    global _applied
    if _applied:
        return
    _applied = True
    import basicsr.models.base_model as base_model
    import basicsr.train as basicsr_train
    import basicsr.utils.dist_util as dist_util
    import basicsr.utils.img_process_util as img_process_util

    if not hasattr(img_process_util.filter2D, '__wrapped__'):
        img_process_util.filter2D = _contiguous_filter2d(img_process_util.filter2D)
    basicsr_train.load_resume_state = _load_resume_state
    dist_util._init_dist_pytorch = _init_dist_pytorch
    base_model.BaseModel.model_to_device = _model_to_device
    _make_registries_load_plugins()


class _StandInLoader(importlib.abc.Loader):
    """Creates a stand-in module (see :data:`_STAND_INS`)."""

    def exec_module(self, module: types.ModuleType) -> None:
        _STAND_INS[module.__name__](module)


class _AdjustingLoader(importlib.abc.Loader):
    """Runs BasicSR's package module, then :func:`_after_basicsr`."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[types.ModuleType]:
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self._loader.exec_module(module)
        _after_basicsr()


class _CompatFinder(importlib.abc.MetaPathFinder):
    """First on ``sys.meta_path``: finds BasicSR and the stand-in modules' names with the other finders, hands
    BasicSR out with :class:`_AdjustingLoader`, and serves a stand-in where nothing else has the module."""

    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]], target: Optional[types.ModuleType] = None
    ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != 'basicsr' and fullname not in _STAND_INS:
            return None
        spec = self._find_elsewhere(fullname, path, target)
        if fullname == 'basicsr':
            if spec is not None and spec.loader is not None and not _applied:
                spec.loader = _AdjustingLoader(spec.loader)
            return spec
        if spec is not None:
            return spec
        return importlib.util.spec_from_loader(fullname, _StandInLoader(), is_package=fullname == 'distutils')

    def _find_elsewhere(
        self, fullname: str, path: Optional[Sequence[str]], target: Optional[types.ModuleType]
    ) -> Optional[importlib.machinery.ModuleSpec]:
        for finder in sys.meta_path:
            find = getattr(finder, 'find_spec', None)
            spec = None if finder is self or find is None else find(fullname, path, target)
            if spec is not None:
                return spec
        return None


def install() -> None:
    """Serve the stand-in modules on demand and patch BasicSR when it is first imported (now, if it already is).

    Called by ``import realesrgan``; it imports neither BasicSR nor torch itself. Idempotent.
    """
    if not any(isinstance(finder, _CompatFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _CompatFinder())
    if 'basicsr' in sys.modules:
        _after_basicsr()


def apply() -> None:
    """Apply every adjustment now, importing BasicSR; idempotent."""
    install()
    importlib.import_module('basicsr')
    _after_basicsr()
