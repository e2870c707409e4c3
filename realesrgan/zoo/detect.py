"""Infer the architecture and its hyper-parameters from a generator state dict, so any checkpoint loads by itself.

Each supported family reads everything from tensor shapes: RRDBNet from ``conv_first`` (its input width tells
the pixel-unshuffle scale), the RRDB count and ``conv_last``; SRVGGNetCompact from the ``body`` convolutions
(the last one has ``num_out_ch * upscale**2`` outputs) and whether the activations carry PReLU slopes. The
result is then checked against a shape-only instance of the architecture, key by key.
"""
import copy
import logging
import math
import re
from functools import lru_cache, partial
from typing import Any, Dict, NamedTuple, Optional, Tuple

import torch
from torch import nn

from realesrgan.zoo.builders import build_arch
from realesrgan.zoo.checkpoint import CheckpointError, StateDict, load_state_dict

__all__ = ['ArchInfo', 'build_model_from_checkpoint', 'detect_architecture', 'rrdbnet_scale']

logger = logging.getLogger(__name__)

# ReLU and LeakyReLU have no weights, so an SRVGGNetCompact without PReLU slopes could use either.
DEFAULT_PLAIN_ACT_TYPE = 'relu'


class ArchInfo(NamedTuple):
    """What :func:`detect_architecture` found.

    Attributes:
        arch: ``'RRDBNet'`` or ``'SRVGGNetCompact'``.
        kwargs: Constructor arguments that rebuild the network.
        netscale: Upscaling factor of the network.
    """

    arch: str
    kwargs: Dict[str, Any]
    netscale: int

    def build(self, device: Optional[torch.device] = None) -> nn.Module:
        """Build the network (random weights, eval mode) on ``device`` (default CPU)."""
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


def _detect_rrdbnet(state_dict: StateDict) -> ArchInfo:
    num_feat, first_in_ch = _shape(state_dict, 'conv_first.weight', 4)[:2]
    num_out_ch = _shape(state_dict, 'conv_last.weight', 4)[0]
    num_grow_ch = _shape(state_dict, 'body.0.rdb1.conv1.weight', 4)[0]
    num_block = len({match.group(1) for match in map(re.compile(r'body\.(\d+)\.').match, state_dict) if match})
    scale, num_in_ch = rrdbnet_scale(first_in_ch, num_out_ch)
    kwargs = dict(num_in_ch=num_in_ch, num_out_ch=num_out_ch, num_feat=num_feat, num_block=num_block,
                  num_grow_ch=num_grow_ch, scale=scale)
    return ArchInfo('RRDBNet', kwargs, scale)


def _detect_srvgg(state_dict: StateDict, default_act_type: str) -> ArchInfo:
    pattern = re.compile(r'body\.(\d+)\.weight')
    conv_indices = sorted(int(match.group(1)) for key, value in state_dict.items()
                          if (match := pattern.fullmatch(key)) and value.dim() == 4)
    if not conv_indices or conv_indices != list(range(0, 2 * len(conv_indices), 2)):
        raise CheckpointError(f'SRVGGNetCompact convolutions must sit at body.0, body.2, body.4, ...; found them '
                              f'at {[f"body.{index}" for index in conv_indices]}.')
    num_feat, num_in_ch = _shape(state_dict, 'body.0.weight', 4)[:2]
    last_out_ch = _shape(state_dict, f'body.{conv_indices[-1]}.weight', 4)[0]
    upscale = math.isqrt(last_out_ch // num_in_ch)
    if upscale < 1 or num_in_ch * upscale * upscale != last_out_ch:
        raise CheckpointError(f'The last SRVGGNetCompact convolution has {last_out_ch} outputs; with {num_in_ch} '
                              'input (= output) channels that is not num_out_ch * upscale**2 for any upscale.')
    slopes = state_dict.get('body.1.weight')
    if slopes is not None and slopes.dim() == 1:
        act_type = 'prelu'
    else:
        act_type = default_act_type
        logger.info('SRVGGNetCompact checkpoint without PReLU slopes: ReLU and LeakyReLU cannot be told apart '
                    'from the weights; assuming act_type=%r.', act_type)
    kwargs = dict(num_in_ch=num_in_ch, num_out_ch=num_in_ch, num_feat=num_feat, num_conv=len(conv_indices) - 2,
                  upscale=upscale, act_type=act_type)
    return ArchInfo('SRVGGNetCompact', kwargs, upscale)


@lru_cache(maxsize=8)
def _meta_model(arch: str, kwargs_items: Tuple[Tuple[str, Any], ...]) -> nn.Module:
    """A shape-only (meta device) instance of a network; cached, as initialising a 23-block RRDBNet takes a while."""
    return build_arch(arch, dict(kwargs_items), torch.device('meta'))


def _check_fit(info: ArchInfo, state_dict: StateDict) -> None:
    """Compare every key and shape with a shape-only instance of the detected network."""
    meta_state = _meta_model(info.arch, tuple(info.kwargs.items())).state_dict()
    expected = {key: tuple(value.shape) for key, value in meta_state.items()}
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    wrong = [f'{key} {list(state_dict[key].shape)} (expected {list(shape)})' for key, shape in expected.items()
             if key in state_dict and tuple(state_dict[key].shape) != shape]
    problems = [f'{label}: {", ".join(items[:5])}{" ..." if len(items) > 5 else ""}'
                for label, items in (('missing', missing), ('unexpected', unexpected), ('wrong shape', wrong))
                if items]
    if problems:
        raise CheckpointError(f'the closest fit, {info.arch}({_format_kwargs(info.kwargs)}), disagrees: '
                              f'{"; ".join(problems)}.')


def _format_kwargs(kwargs: Dict[str, Any]) -> str:
    return ', '.join(f'{key}={value!r}' for key, value in kwargs.items())


def _describe(state_dict: StateDict, limit: int = 5) -> str:
    shown = ', '.join(f'{key} {list(value.shape)}' for key, value in list(state_dict.items())[:limit])
    return f'{len(state_dict)} tensors, first: {shown}'


def detect_architecture(state_dict: StateDict, default_act_type: str = DEFAULT_PLAIN_ACT_TYPE) -> ArchInfo:
    """Infer which network a state dict belongs to, with all its hyper-parameters.

    Args:
        state_dict: Generator weights (as returned by :func:`load_state_dict`).
        default_act_type: Activation assumed for an SRVGGNetCompact without PReLU slopes (``'relu'`` or
            ``'leakyrelu'``: the two have no weights, so the checkpoint cannot tell them apart).

    Returns:
        The architecture name, its constructor arguments and its net scale.

    Raises:
        CheckpointError: The state dict fits neither RRDBNet nor SRVGGNetCompact; the message says what it holds.
    """
    if any(key.endswith('.weight_orig') for key in state_dict):
        raise CheckpointError('These are discriminator weights (spectral-norm keys such as '
                              f'{next(key for key in state_dict if key.endswith(".weight_orig"))!r}); '
                              'use the generator checkpoint (net_g_*.pth or an official model) instead.')
    if 'conv_first.weight' in state_dict:
        family, detect = 'RRDBNet', _detect_rrdbnet
    elif 'body.0.weight' in state_dict:
        family, detect = 'SRVGGNetCompact', partial(_detect_srvgg, default_act_type=default_act_type)
    else:
        raise CheckpointError('The weights fit neither RRDBNet (needs conv_first.weight) nor SRVGGNetCompact '
                              f'(needs body.0.weight); they hold {_describe(state_dict)}.')
    try:
        info = detect(state_dict)
        _check_fit(info, state_dict)
    except CheckpointError as error:
        raise CheckpointError(f'Cannot load the weights as {family}: {error} '
                              f'(The weights hold {_describe(state_dict)}.)') from None
    return info


def build_model_from_checkpoint(path: str, param_key: Optional[str] = None,
                                default_act_type: str = DEFAULT_PLAIN_ACT_TYPE) -> Tuple[nn.Module, ArchInfo]:
    """Load any supported generator checkpoint into the matching network, without being told the architecture.

    Args:
        path: Path of the ``.pth`` (official layout or bare state dict).
        param_key: See :func:`load_state_dict`.
        default_act_type: See :func:`detect_architecture`.

    Returns:
        The network with the checkpoint's weights on the CPU in eval mode, and what was detected.
    """
    state_dict = load_state_dict(path, param_key)
    try:
        info = detect_architecture(state_dict, default_act_type)
    except CheckpointError as error:
        raise CheckpointError(f'{path}: {error}') from None
    model = copy.deepcopy(_meta_model(info.arch, tuple(info.kwargs.items())))
    model.load_state_dict({key: value.float() for key, value in state_dict.items()}, strict=True, assign=True)
    return model, info
