"""The generator families this package runs natively, one descriptor each: the single table of architectures.

A descriptor says how to build the network, how its official checkpoints store the weights, how to recognise
its state dict and read every hyper-parameter from tensor shapes, and what input sizes the network needs. The
model zoo (:mod:`~realesrgan.zoo.table`), checkpoint detection (:mod:`~realesrgan.zoo.detect`) and the exporters
look architectures up here: adding a family is adding one :class:`ArchFamily` (the ncnn reader,
:mod:`~realesrgan.zoo.ncnn`, knows the graphs of the two official families only).
"""

import importlib
import logging
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, NamedTuple, Optional, Tuple

from realesrgan.zoo.checkpoint import CheckpointError, StateDict
from realesrgan.zoo.traits import ModelTraits

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = [
    'FAMILIES',
    'OFFICIAL_PARAM_KEY',
    'ArchFamily',
    'ArchInfo',
    'build_arch',
    'class_on_first_use',
    'rrdbnet_info',
    'rrdbnet_scale',
    'srvgg_info',
]

logger = logging.getLogger(__name__)

# ReLU and LeakyReLU have no weights, so an SRVGGNetCompact without PReLU slopes could use either.
DEFAULT_PLAIN_ACT_TYPE = 'relu'


class ArchInfo(NamedTuple):
    """Which network: the one record every part of the package uses for it.

    Attributes:
        arch: Family name: a key of :data:`FAMILIES` (``'RRDBNet'`` or ``'SRVGGNetCompact'``), or the id of an
            architecture that spandrel loads (``'SwinIR'``, ``'HAT'``, ...; see :mod:`realesrgan.zoo.spandrel_models`).
        kwargs: Constructor arguments that build the network (empty for spandrel's: it reads them from the weights).
        netscale: Upscaling factor of the network.
        declared: The traits spandrel declared for its model; None for our families, whose traits follow from
            ``kwargs``.
    """

    arch: str
    kwargs: Dict[str, Any]
    netscale: int
    declared: Optional[ModelTraits] = None

    @property
    def native(self) -> bool:
        """Whether the network is one of our families (else spandrel builds it from the weights)."""
        return self.arch in FAMILIES

    @property
    def family(self) -> 'ArchFamily':
        """The descriptor of this network's family."""
        return FAMILIES[self.arch]

    @property
    def traits(self) -> ModelTraits:
        """Input size rules and safe precisions (x2 / x1 RRDBNet pixel-unshuffle their input: even sizes / x4)."""
        if self.declared is not None:
            return self.declared
        return ModelTraits(multiple_of=self.family.size_multiple(self.kwargs))

    def build(self, device: Optional['torch.device'] = None) -> 'nn.Module':
        """Build the network (random weights, eval mode) on ``device`` (default CPU).

        Raises:
            ValueError: The network is one spandrel loads: it is built from its weights
                (:func:`realesrgan.zoo.load_network`), not from constructor arguments.
        """
        return build_arch(self.arch, self.kwargs, device)


def _shape(state_dict: StateDict, key: str, ndim: int) -> Tuple[int, ...]:
    tensor = state_dict.get(key)
    if tensor is None or tensor.dim() != ndim:
        found = 'missing' if tensor is None else f'of shape {list(tensor.shape)}'
        raise CheckpointError(f'Expected a {ndim}-D tensor {key!r}, but it is {found}.')
    return tuple(tensor.shape)


def rrdbnet_scale(first_in_ch: int, num_out_ch: int) -> Tuple[int, int]:
    """Tell an RRDBNet's scale from the input width of ``conv_first``.

    BasicSR's RRDBNet pixel-unshuffles x2 inputs by 2 and x1 inputs by 4 before ``conv_first``, so that layer
    sees 4x or 16x the image channels. Image input and output are assumed to have the same channel count.

    Args:
        first_in_ch: Input channels of ``conv_first``.
        num_out_ch: Output channels of ``conv_last``.

    Returns:
        ``(scale, num_in_ch)``.
    """
    if first_in_ch == 16 * num_out_ch:
        return 1, num_out_ch
    if first_in_ch == 4 * num_out_ch:
        return 2, num_out_ch
    return 4, first_in_ch


def rrdbnet_info(first_in_ch: int, num_out_ch: int, num_feat: int, num_block: int, num_grow_ch: int) -> ArchInfo:
    """An RRDBNet from the sizes a checkpoint or an ncnn graph shows (the scale follows from ``first_in_ch``).

    Args:
        first_in_ch: Input channels of ``conv_first`` (see :func:`rrdbnet_scale`).
        num_out_ch: Output channels of ``conv_last``.
        num_feat: Feature channels.
        num_block: Number of RRDB blocks.
        num_grow_ch: Growth channels of the dense blocks.
    """
    scale, num_in_ch = rrdbnet_scale(first_in_ch, num_out_ch)
    sizes = dict(num_in_ch=num_in_ch, num_out_ch=num_out_ch, num_feat=num_feat)
    return ArchInfo('RRDBNet', dict(sizes, num_block=num_block, num_grow_ch=num_grow_ch, scale=scale), scale)


def srvgg_info(num_in_ch: int, num_out_ch: int, num_feat: int, num_conv: int, upscale: int, act_type: str) -> ArchInfo:
    """An SRVGGNetCompact from the sizes a checkpoint or an ncnn graph shows.

    Args:
        num_in_ch: Image channels in.
        num_out_ch: Image channels out.
        num_feat: Feature channels.
        num_conv: Convolutions between the first and the last.
        upscale: Upscaling factor.
        act_type: ``'prelu'``, ``'relu'`` or ``'leakyrelu'``.
    """
    sizes = dict(num_in_ch=num_in_ch, num_out_ch=num_out_ch, num_feat=num_feat)
    return ArchInfo('SRVGGNetCompact', dict(sizes, num_conv=num_conv, upscale=upscale, act_type=act_type), upscale)


def _read_rrdbnet(state_dict: StateDict, default_act_type: str) -> ArchInfo:
    del default_act_type  # RRDBNet has one activation
    num_feat, first_in_ch = _shape(state_dict, 'conv_first.weight', 4)[:2]
    num_out_ch = _shape(state_dict, 'conv_last.weight', 4)[0]
    num_grow_ch = _shape(state_dict, 'body.0.rdb1.conv1.weight', 4)[0]
    num_block = len({match.group(1) for match in map(re.compile(r'body\.(\d+)\.').match, state_dict) if match})
    return rrdbnet_info(first_in_ch, num_out_ch, num_feat, num_block, num_grow_ch)


def _read_srvgg(state_dict: StateDict, default_act_type: str) -> ArchInfo:
    pattern = re.compile(r'body\.(\d+)\.weight')
    conv_indices = sorted(
        int(match.group(1))
        for key, value in state_dict.items()
        if (match := pattern.fullmatch(key)) and value.dim() == 4
    )
    if not conv_indices or conv_indices != list(range(0, 2 * len(conv_indices), 2)):
        raise CheckpointError(
            f'SRVGGNetCompact convolutions must sit at body.0, body.2, body.4, ...; found them '
            f'at {[f"body.{index}" for index in conv_indices]}.'
        )
    num_feat, num_in_ch = _shape(state_dict, 'body.0.weight', 4)[:2]
    last_out_ch = _shape(state_dict, f'body.{conv_indices[-1]}.weight', 4)[0]
    upscale = math.isqrt(last_out_ch // num_in_ch)
    if upscale < 1 or num_in_ch * upscale * upscale != last_out_ch:
        raise CheckpointError(
            f'The last SRVGGNetCompact convolution has {last_out_ch} outputs; with {num_in_ch} '
            'input (= output) channels that is not num_out_ch * upscale**2 for any upscale.'
        )
    slopes = state_dict.get('body.1.weight')
    if slopes is not None and slopes.dim() == 1:
        act_type = 'prelu'
    else:
        act_type = default_act_type
        logger.info(
            'SRVGGNetCompact checkpoint without PReLU slopes: ReLU and LeakyReLU cannot be told apart '
            'from the weights; assuming act_type=%r.',
            act_type,
        )
    return srvgg_info(num_in_ch, num_in_ch, num_feat, len(conv_indices) - 2, upscale, act_type)


def class_on_first_use(module: str, name: str) -> Callable[..., 'nn.Module']:
    """A builder that imports the class ``module.name`` when it first builds a network.

    The zoo's table and the command lines read :data:`FAMILIES` without importing torch or BasicSR this way.

    Args:
        module: Dotted name of the module that defines the class.
        name: The class name.

    Returns:
        ``builder(**kwargs)``, which returns ``module.name(**kwargs)``.
    """

    def builder(**kwargs: Any) -> 'nn.Module':
        return getattr(importlib.import_module(module), name)(**kwargs)

    builder.__qualname__ = builder.__name__ = name
    return builder


@dataclass(frozen=True)
class ArchFamily:
    """One generator family.

    Attributes:
        name: The architecture's class name, as in BasicSR options (``type: RRDBNet``).
        builder: Builds the network from the constructor arguments (the class, or :func:`class_on_first_use`).
        param_key: Key under which official release files keep the weights.
        marker_key: A state-dict key that only this family's checkpoints have.
        read_kwargs: ``(state_dict, default_act_type) -> ArchInfo``: every hyper-parameter from tensor shapes.
        size_multiple: ``kwargs -> m``: input height and width must be multiples of ``m``.
        scale_arg: The constructor argument that holds the upscaling factor; training options check that it equals
            the options' top-level ``scale``.
        ncnn_graph: ``'module:function'`` that writes the family's ncnn graph (``scripts/pytorch2ncnn.py``,
            :mod:`realesrgan.export.ncnn_graph`), or None when it cannot be exported to ncnn. Named, not imported:
            the exporters sit above this table.
    """

    name: str
    builder: Callable[..., 'nn.Module']
    param_key: str
    marker_key: str
    read_kwargs: Callable[[StateDict, str], ArchInfo]
    size_multiple: Callable[[Mapping[str, Any]], int]
    scale_arg: str = 'scale'
    ncnn_graph: Optional[str] = None


FAMILIES: Dict[str, ArchFamily] = {
    family.name: family
    for family in (
        # Official RRDBNet files keep the EMA weights; x2 / x1 networks pixel-unshuffle their input by 2 / 4.
        ArchFamily(
            'RRDBNet',
            class_on_first_use('basicsr.archs.rrdbnet_arch', 'RRDBNet'),
            'params_ema',
            'conv_first.weight',
            _read_rrdbnet,
            lambda kwargs: {2: 2, 1: 4}.get(kwargs.get('scale', 4), 1),
            ncnn_graph='realesrgan.export.ncnn_graph:rrdbnet_graph',
        ),
        ArchFamily(
            'SRVGGNetCompact',
            class_on_first_use('realesrgan.archs.srvgg_arch', 'SRVGGNetCompact'),
            'params',
            'body.0.weight',
            _read_srvgg,
            lambda kwargs: 1,
            scale_arg='upscale',
            ncnn_graph='realesrgan.export.ncnn_graph:srvgg_graph',
        ),
    )
}

# Official release files keep the EMA weights of RRDBNet models and the plain weights of SRVGGNetCompact models.
OFFICIAL_PARAM_KEY: Dict[str, str] = {name: family.param_key for name, family in FAMILIES.items()}


def build_arch(arch: str, kwargs: Mapping[str, Any], device: Optional['torch.device'] = None) -> 'nn.Module':
    """Instantiate one of the supported generator architectures in eval mode.

    Args:
        arch: A key of :data:`FAMILIES` (``'RRDBNet'`` or ``'SRVGGNetCompact'``).
        kwargs: Constructor arguments of the architecture.
        device: Where to create the parameters; ``torch.device('meta')`` builds a shape-only model cheaply.
            Defaults to the CPU.

    Returns:
        The network, in eval mode.
    """
    if arch not in FAMILIES:
        raise ValueError(
            f'{arch!r} is not one of our architectures ({", ".join(FAMILIES)}); networks that spandrel loads are '
            'built from their weights: realesrgan.zoo.load_network(state_dict).'
        )
    import torch

    with torch.device(device or 'cpu'):
        model = FAMILIES[arch].builder(**kwargs)
    return model.eval()
