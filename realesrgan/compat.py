"""Make the released BasicSR 1.4.2 import and run on current torch, torchvision, numpy and Python.

BasicSR's last release predates several upstream changes. Rather than pinning old versions or editing
site-packages, this module adjusts things at run time:

* ``torchvision.transforms.functional_tensor`` was removed (torchvision 0.17); BasicSR's degradations import
  ``rgb_to_grayscale`` from it. Importing it gives an alias of the current implementation.
* ``distutils`` is gone from Python 3.12; BasicSR's ``arch_util`` imports ``distutils.version.LooseVersion``.
  Importing it gives a minimal stand-in, only where no real ``distutils`` can be found.
* ``filter2D`` calls ``.view`` on its input, which fails for the non-contiguous tensors ``DiffJPEG`` returns.
* Resuming training used ``torch.load`` onto ``cuda`` with the old unpickling default; on current torch the
  scheduler's ``collections.Counter`` is refused, and CPU-only machines have no ``cuda``. ``--auto_resume`` now
  passes over a damaged latest state (a run killed while saving it) to the newest one that loads, with a warning.
* The progress line's ETA went negative (``-1 day, 23:59:57``) at the last iteration; it is 0 there now.
* :func:`train_pipeline_wrapped` lets the training command (:mod:`realesrgan.training.run`) wrap functions that
  ``train_pipeline`` calls for the length of a run; this module is the only one that replaces BasicSR's functions.
* Distributed launch and ``DistributedDataParallel`` wrapping assumed CUDA; on CPU-only machines they now
  use the gloo backend and no device ids.
* BasicSR's registries load this package's plugins (:data:`PLUGIN_PACKAGES`) before their first lookup, so that
  ``build_network({'type': 'SRVGGNetCompact'})`` and the training pipeline find them after ``import realesrgan``.

Importing :mod:`realesrgan` calls :func:`install`, which imports neither BasicSR nor torch: an import hook serves
the two stand-in modules when something imports them, and patches BasicSR right after BasicSR is first imported
(at once, when it already is). :func:`apply` does it all now. Calling either again does nothing.
"""

import collections
import contextlib
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
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

if TYPE_CHECKING:
    import torch

__all__ = ['PLUGIN_PACKAGES', 'apply', 'install', 'load_training_state', 'train_pipeline_wrapped']

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


@functools.total_ordering
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


def _state_iterations(state_dir: str) -> List[int]:
    """The iterations of the ``<iteration>.state`` files in ``state_dir``, newest first."""
    iterations = []
    for name in os.listdir(state_dir):
        stem, extension = os.path.splitext(name)
        if extension == '.state' and stem.isdigit():
            iterations.append(int(stem))
    return sorted(iterations, reverse=True)


def _reason(error: BaseException) -> str:
    text = ' '.join(str(error).split())[:200]
    return f'{type(error).__name__}: {text}' if text else type(error).__name__


def _newest_loadable_state(state_dir: str) -> Tuple[Optional[str], Optional[Dict[str, Any]]]:
    """The newest training state of ``state_dir`` that loads, passing over damaged ones with one warning.

    A run killed while it saved a state (before saves were atomic), or a disk that filled up, can leave the newest
    state empty or truncated; resuming from the one before loses a few iterations instead of the whole run.

    Returns:
        Its path and its content, or ``(None, None)`` when the folder holds no state.

    Raises:
        ValueError: No state of the folder loads; the message names them.
    """
    damaged: List[Tuple[str, str]] = []
    for iteration in _state_iterations(state_dir):
        path = os.path.join(state_dir, f'{iteration}.state')
        try:
            state = load_training_state(path)
        except Exception as error:  # any unpickling failure means a damaged file
            damaged.append((path, _reason(error)))
            continue
        if damaged:
            logger.warning(
                'training state %s is damaged (%s); resuming from %s instead',
                ', '.join(path for path, _ in damaged),
                damaged[0][1],
                path,
            )
        return path, state
    if damaged:
        raise ValueError(
            f'no training state in {state_dir} can be read ({damaged[0][0]}: {damaged[0][1]}); remove the damaged '
            'files to start again from scratch'
        )
    return None, None


def _load_resume_state(opt: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """Device-agnostic replacement of ``basicsr.train.load_resume_state`` (same option semantics), which passes
    over a damaged latest state with ``--auto_resume``."""
    from basicsr.utils import check_resume

    if opt['auto_resume']:
        # under the root path the states are saved to (BasicSR looked relative to the working directory)
        state_dir = opt['path'].get('training_states') or os.path.join('experiments', opt['name'], 'training_states')
        if not os.path.isdir(state_dir):
            return None
        resume_state_path, resume_state = _newest_loadable_state(state_dir)
        if resume_state_path is None:
            return None
        opt['path']['resume_state'] = resume_state_path
    elif opt['path'].get('resume_state'):
        resume_state_path = opt['path']['resume_state']
        if not os.path.isfile(resume_state_path):
            raise FileNotFoundError(
                f'Resume state {resume_state_path} does not exist; fix path.resume_state in the '
                'options file or drop it to start from scratch.'
            )
        try:
            resume_state = load_training_state(resume_state_path)
        except Exception as error:  # any unpickling failure means a damaged file
            raise ValueError(
                f'the training state {resume_state_path} cannot be read ({_reason(error)}): it is damaged; '
                'resume from an earlier one (path.resume_state) or use --auto_resume'
            ) from error
    else:
        return None
    check_resume(opt, resume_state['iter'])
    return resume_state


def _eta_never_negative(call: Callable[..., None]) -> Callable[..., None]:
    """Wrap ``MessageLogger.__call__``: BasicSR counts one iteration too many ahead, so the ETA of the last
    iteration was ``-1 day, 23:59:57``; it is 0 there now, and the same as before on every other line."""

    @functools.wraps(call)
    def log_progress(self: Any, log_vars: Dict[str, Any]) -> None:
        max_iters = self.max_iters
        self.max_iters = max(max_iters, int(log_vars.get('iter', 0)) + 1)
        try:
            call(self, log_vars)
        finally:
            self.max_iters = max_iters

    return log_progress


# the functions train_pipeline calls that train_pipeline_wrapped may wrap, and the modules it finds each in
_TRAIN_PIPELINE_CALLS = {
    'parse_options': ('basicsr.train',),
    'build_dataset': ('basicsr.train',),
    'build_model': ('basicsr.train',),
    'get_root_logger': ('basicsr.train',),
    'mkdir_and_rename': ('basicsr.train', 'basicsr.utils.misc'),  # make_exp_dirs calls its own module's
    'init_dist': ('basicsr.utils.options',),  # called by parse_options
}


@contextlib.contextmanager
def _replaced(module: Any, name: str, replacement: Any) -> Iterator[None]:
    """Replace ``module.name`` for the duration of the block."""
    original = getattr(module, name)
    setattr(module, name, replacement)
    try:
        yield
    finally:
        setattr(module, name, original)


@contextlib.contextmanager
def train_pipeline_wrapped(
    wrappers: Mapping[str, Callable[[Callable[..., Any]], Callable[..., Any]]],
) -> Iterator[None]:
    """For the length of the block, have BasicSR's ``train_pipeline`` call wrappers of some functions it calls.

    Args:
        wrappers: Function name (``parse_options``, ``build_dataset``, ``build_model``, ``get_root_logger``,
            ``mkdir_and_rename`` or ``init_dist``) to a function that takes the current function and returns
            its wrapper.
    """
    apply()
    with contextlib.ExitStack() as stack:
        for name, wrap in wrappers.items():
            for module_name in _TRAIN_PIPELINE_CALLS[name]:
                module = importlib.import_module(module_name)
                stack.enter_context(_replaced(module, name, wrap(getattr(module, name))))
        yield


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
    import basicsr.utils.logger as basicsr_logger

    if not hasattr(img_process_util.filter2D, '__wrapped__'):
        img_process_util.filter2D = _contiguous_filter2d(img_process_util.filter2D)
    basicsr_train.load_resume_state = _load_resume_state
    dist_util._init_dist_pytorch = _init_dist_pytorch
    base_model.BaseModel.model_to_device = _model_to_device
    basicsr_logger.MessageLogger.__call__ = _eta_never_negative(basicsr_logger.MessageLogger.__call__)
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
