"""Infer the architecture and its hyper-parameters from a generator state dict, so any checkpoint loads by itself.

Our family is recognised by its marker key and reads everything from tensor shapes (:mod:`realesrgan.zoo.families`:
RRDBNet from ``conv_first``, whose input width tells the pixel-unshuffle scale, the RRDB count and ``conv_last``;
SRVGGNetCompact from the ``body`` convolutions and whether the activations carry PReLU slopes). The result is then
checked against a shape-only instance of the architecture, key by key. Weights that fit none of our families go to
spandrel (:mod:`realesrgan.zoo.spandrel_models`), when it is installed.
"""

import copy
from functools import lru_cache
from typing import Any, Dict, Optional, Tuple

import torch
from torch import nn

from realesrgan.zoo.checkpoint import CheckpointError, StateDict, load_state_dict
from realesrgan.zoo.families import DEFAULT_PLAIN_ACT_TYPE, FAMILIES, ArchInfo, build_arch
from realesrgan.zoo.spandrel_models import MODELS_EXTRA, ModelsExtraMissingError, guess_family, load_with_spandrel

__all__ = ['build_model_from_checkpoint', 'detect_architecture', 'load_network']


class FamilyMismatchError(CheckpointError):
    """Weights with the marker key of one of our families whose keys or shapes differ from the network they
    describe; the message names the tensors that differ."""


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
    wrong = [
        f'{key} {list(state_dict[key].shape)} (expected {list(shape)})'
        for key, shape in expected.items()
        if key in state_dict and tuple(state_dict[key].shape) != shape
    ]
    problems = [
        f'{label}: {", ".join(items[:5])}{" ..." if len(items) > 5 else ""}'
        for label, items in (('missing', missing), ('unexpected', unexpected), ('wrong shape', wrong))
        if items
    ]
    if problems:
        raise CheckpointError(
            f'the closest fit, {info.arch}({_format_kwargs(info.kwargs)}), disagrees: {"; ".join(problems)}.'
        )


def _format_kwargs(kwargs: Dict[str, Any]) -> str:
    return ', '.join(f'{key}={value!r}' for key, value in kwargs.items())


def _describe(state_dict: StateDict, limit: int = 5) -> str:
    shown = ', '.join(f'{key} {list(value.shape)}' for key, value in list(state_dict.items())[:limit])
    return f'{len(state_dict)} tensors, first: {shown}'


def _native(state_dict: StateDict, default_act_type: str) -> ArchInfo:
    """Our family that fits the state dict exactly, key by key and shape by shape."""
    family = next((family for family in FAMILIES.values() if family.marker_key in state_dict), None)
    if family is None:
        needs = ' nor '.join(f'{family.name} (needs {family.marker_key})' for family in FAMILIES.values())
        raise CheckpointError(f'The weights fit neither {needs}; they hold {_describe(state_dict)}.')
    try:
        info = family.read_kwargs(state_dict, default_act_type)
        _check_fit(info, state_dict)
    except CheckpointError as error:
        raise FamilyMismatchError(f'Cannot load the weights as {family.name}: {error}') from None
    return info


def _not_discriminator(state_dict: StateDict) -> None:
    if any(key.endswith('.weight_orig') for key in state_dict):
        raise CheckpointError(
            'These are discriminator weights (spectral-norm keys such as '
            f'{next(key for key in state_dict if key.endswith(".weight_orig"))!r}); '
            'use the generator checkpoint (net_g_*.pth or an official model) instead.'
        )


def _through_spandrel(state_dict: StateDict, native_error: CheckpointError) -> Tuple[nn.Module, ArchInfo]:
    """spandrel's model for weights that none of our families fits; the error says what the keys look like."""
    family = guess_family(state_dict)
    lead = f'The weights look like {family}, which this package does not run by itself' if family else native_error
    try:
        return load_with_spandrel(state_dict)
    except ModelsExtraMissingError:
        raise CheckpointError(
            f'{str(lead).rstrip(".")}; installing the models extra ({MODELS_EXTRA}) may let them load.'
        ) from None
    except CheckpointError as error:
        if isinstance(native_error, FamilyMismatchError):  # ours names the tensors that differ: enough said
            raise native_error from None
        raise CheckpointError(f'{str(lead).rstrip(".")}; {error}') from None


def detect_architecture(
    state_dict: StateDict, default_act_type: str = DEFAULT_PLAIN_ACT_TYPE, *, source: Optional[str] = None
) -> ArchInfo:
    """Infer which network a state dict belongs to, with all its hyper-parameters.

    Our families come first (exact keys and shapes); any other architecture is loaded through spandrel when it is
    installed (the ``models`` extra), which is what tells its scale and traits.

    Args:
        state_dict: Generator weights (as returned by :func:`load_state_dict`).
        default_act_type: Activation assumed for an SRVGGNetCompact without PReLU slopes (``'relu'`` or
            ``'leakyrelu'``: the two have no weights, so the checkpoint cannot tell them apart).
        source: Where the weights came from (a path); messages start with it.

    Returns:
        The architecture name, its constructor arguments (none for spandrel's) and its net scale.

    Raises:
        CheckpointError: No family fits and spandrel cannot load the weights (or is not installed); the message
            says what the weights hold or which family they look like, and whether the extra may help.
    """
    return _detect(state_dict, default_act_type, source)[1]


def _detect(
    state_dict: StateDict, default_act_type: str, source: Optional[str]
) -> Tuple[Optional[nn.Module], ArchInfo]:
    """Our family's record (no module yet), or spandrel's module with its record."""
    try:
        _not_discriminator(state_dict)
        try:
            return None, _native(state_dict, default_act_type)
        except CheckpointError as native_error:
            return _through_spandrel(state_dict, native_error)
    except CheckpointError as error:
        if source is None:
            raise
        raise CheckpointError(f'{source}: {error}') from None


def load_network(
    state_dict: StateDict, default_act_type: str = DEFAULT_PLAIN_ACT_TYPE, *, source: Optional[str] = None
) -> Tuple[nn.Module, ArchInfo]:
    """Build the network a state dict belongs to, with its weights, without being told the architecture.

    Args:
        state_dict: Generator weights (as returned by :func:`load_state_dict`).
        default_act_type: See :func:`detect_architecture`.
        source: Where the weights came from (a path); messages start with it.

    Returns:
        The network with the weights on the CPU in eval mode (fp32), and what was detected.

    Raises:
        CheckpointError: See :func:`detect_architecture`.
    """
    model, info = _detect(state_dict, default_act_type, source)
    if model is None:
        model = copy.deepcopy(_meta_model(info.arch, tuple(info.kwargs.items())))
        model.load_state_dict({key: value.float() for key, value in state_dict.items()}, strict=True, assign=True)
    return model, info


def build_model_from_checkpoint(
    path: str, param_key: Optional[str] = None, default_act_type: str = DEFAULT_PLAIN_ACT_TYPE
) -> Tuple[nn.Module, ArchInfo]:
    """Load any supported generator checkpoint into the matching network, without being told the architecture.

    Args:
        path: Path of the ``.pth`` or ``.safetensors`` (official layout, bare state dict, older ESRGAN layouts, or
            any architecture spandrel loads when the ``models`` extra is installed).
        param_key: See :func:`load_state_dict`.
        default_act_type: See :func:`detect_architecture`.

    Returns:
        The network with the checkpoint's weights on the CPU in eval mode, and what was detected.
    """
    return load_network(load_state_dict(path, param_key), default_act_type, source=path)
