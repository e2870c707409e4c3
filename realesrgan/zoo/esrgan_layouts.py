"""Community ESRGAN checkpoints in the older key layouts, renamed to BasicSR's RRDBNet keys.

Most ESRGAN models people download (4x-UltraSharp, Remacri and the other fine-tunes on OpenModelDB) keep one of two
layouts that predate BasicSR's names:

* the first ESRGAN layout, a flattened ``nn.Sequential``: ``model.0`` is ``conv_first``, ``model.1.sub.<i>.RDB<k>
  .conv<j>.0`` the residual-in-residual dense blocks and ``model.1.sub.<N>`` ``conv_body``; each upsampling step
  adds an upsample, a convolution and an activation (``model.3``, ``model.6``), then ``model.8`` is ``conv_hr`` and
  ``model.10`` ``conv_last``;
* the later layout of ESRGAN / BSRGAN: ``RRDB_trunk.<i>.RDB<k>.conv<j>``, ``trunk_conv``, ``upconv1``, ``upconv2``,
  ``HRconv``.

With two upsampling steps both are exactly BasicSR's RRDBNet, for any block count and feature width: x4, or x2 / x1
when ``conv_first`` takes a pixel-unshuffled input (4x / 16x the image channels), as BasicSR's RRDBNet does. Those
are renamed here, so that they get the whole engine (banded forward, tiles, precisions, ONNX and ncnn export).
Other variants (one or three upsampling steps, i.e. a native x2 or x8; ESRGAN+ with its extra 1x1 convolutions)
are a different network and are left as they are, for spandrel (see :mod:`realesrgan.zoo.spandrel_models`).
"""

import re
from typing import TYPE_CHECKING, Dict, Optional

if TYPE_CHECKING:
    import torch

__all__ = ['esrgan_variant', 'to_basicsr_keys']

Tensors = Dict[str, 'torch.Tensor']  # a state dict (realesrgan.zoo.checkpoint reads them; it imports this module)

_OLD_MARKER = 'model.1.sub.0.RDB1.conv1.0.weight'
_NEW_MARKER = 'RRDB_trunk.0.RDB1.conv1.weight'
_OLD_BLOCK = re.compile(r'model\.1\.sub\.(\d+)\.RDB([123])\.conv([1-5])\.0\.(weight|bias)')
_NEW_BLOCK = re.compile(r'RRDB_trunk\.(\d+)\.RDB([123])\.conv([1-5])\.(weight|bias)')
_OLD_TOP = re.compile(r'model\.(\d+)\.(weight|bias)')
_OLD_TRUNK_END = re.compile(r'model\.1\.sub\.(\d+)\.(weight|bias)')
_NEW_PLAIN = {
    'conv_first': 'conv_first',
    'trunk_conv': 'conv_body',
    'upconv1': 'conv_up1',
    'upconv2': 'conv_up2',
    'HRconv': 'conv_hr',
    'conv_last': 'conv_last',
}
# BasicSR's RRDBNet upsamples twice; the first layout then has its convolutions at these places.
_OLD_PLAIN = {0: 'conv_first', 3: 'conv_up1', 6: 'conv_up2', 8: 'conv_hr', 10: 'conv_last'}


def _old_upsampling_steps(state_dict: Tensors) -> Optional[int]:
    """Upsampling steps of a first-layout checkpoint (convolutions at 3, 6, ..., 3u, then 3u + 2, 3u + 4)."""
    places = sorted({int(match.group(1)) for match in map(_OLD_TOP.fullmatch, state_dict) if match} - {0})
    steps = len(places) - 2
    if steps < 0 or places != [3 * step for step in range(1, steps + 1)] + [3 * steps + 2, 3 * steps + 4]:
        return None
    return steps


def esrgan_variant(state_dict: Tensors) -> Optional[str]:
    """Name the ESRGAN layout a state dict has, for messages.

    Args:
        state_dict: Generator weights.

    Returns:
        E.g. ``'ESRGAN (first layout, 3 upsampling steps)'``, ``'ESRGAN+'``; None when it is not an ESRGAN layout.
    """
    if any('.RDB1.conv1x1.' in key for key in state_dict):
        return 'ESRGAN+'
    if _OLD_MARKER in state_dict:
        steps = _old_upsampling_steps(state_dict)
        return f'ESRGAN (first layout, {"unusual sequence" if steps is None else f"{steps} upsampling steps"})'
    if _NEW_MARKER in state_dict:
        steps = sum(f'upconv{index}.weight' in state_dict for index in range(1, 5))
        return f'ESRGAN (RRDB_trunk layout, {steps} upsampling steps)'
    return None


def _renamed(state_dict: Tensors, rename: Dict[str, str]) -> Optional[Tensors]:
    """The state dict under the new names; None when a key has no new name (a variant we do not map)."""
    if len(rename) != len(state_dict):
        return None
    return {rename[key]: value for key, value in state_dict.items()}


def _old_layout_names(state_dict: Tensors) -> Dict[str, str]:
    blocks = {int(match.group(1)) for match in map(_OLD_BLOCK.fullmatch, state_dict) if match}
    rename = {}
    for key in state_dict:
        if match := _OLD_BLOCK.fullmatch(key):
            block, rdb, conv, kind = match.groups()
            rename[key] = f'body.{block}.rdb{rdb}.conv{conv}.{kind}'
        elif (match := _OLD_TRUNK_END.fullmatch(key)) and int(match.group(1)) == len(blocks):
            rename[key] = f'conv_body.{match.group(2)}'
        elif (match := _OLD_TOP.fullmatch(key)) and int(match.group(1)) in _OLD_PLAIN:
            rename[key] = f'{_OLD_PLAIN[int(match.group(1))]}.{match.group(2)}'
    return rename


def _new_layout_names(state_dict: Tensors) -> Dict[str, str]:
    rename = {}
    for key in state_dict:
        if match := _NEW_BLOCK.fullmatch(key):
            block, rdb, conv, kind = match.groups()
            rename[key] = f'body.{block}.rdb{rdb}.conv{conv}.{kind}'
        else:
            layer, _, kind = key.rpartition('.')
            if layer in _NEW_PLAIN:
                rename[key] = f'{_NEW_PLAIN[layer]}.{kind}'
    return rename


def to_basicsr_keys(state_dict: Tensors) -> Tensors:
    """Rename an ESRGAN checkpoint of an older layout to BasicSR's RRDBNet keys, when it is that network.

    Args:
        state_dict: Generator weights of any architecture.

    Returns:
        The same tensors under BasicSR's RRDBNet names for the first ESRGAN layout or the ``RRDB_trunk`` layout
        with two upsampling steps; otherwise ``state_dict`` itself, unchanged.
    """
    if _OLD_MARKER in state_dict and _old_upsampling_steps(state_dict) == 2:
        return _renamed(state_dict, _old_layout_names(state_dict)) or state_dict
    if _NEW_MARKER in state_dict and 'upconv2.weight' in state_dict and 'upconv3.weight' not in state_dict:
        return _renamed(state_dict, _new_layout_names(state_dict)) or state_dict
    return state_dict
