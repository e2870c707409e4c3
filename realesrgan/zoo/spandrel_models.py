"""Every other architecture through spandrel (the ``models`` extra): SwinIR, HAT, DAT, SPAN, Real-CUGAN, OmniSR, ...

spandrel (PyPI, MIT) recognises about 40 architectures from their state-dict keys, builds the network with every
hyper-parameter read from tensor shapes, and says what callers need: scale, channels, size requirements and whether
fp16 / bf16 are safe. Here its result becomes what the engine uses: a module whose ``forward`` is spandrel's call,
and an :class:`~realesrgan.zoo.families.ArchInfo` carrying the :class:`~realesrgan.zoo.traits.ModelTraits`.

Without spandrel, :func:`guess_family` still names the family that a state dict's keys look like (from a few
telling keys per architecture), so that the message can say what the file is and that the extra may load it.
"""

import sys
import warnings
from typing import Any, Optional, Tuple

import torch
from torch import nn

from realesrgan.zoo.checkpoint import CheckpointError, StateDict
from realesrgan.zoo.esrgan_layouts import esrgan_variant
from realesrgan.zoo.families import ArchInfo
from realesrgan.zoo.traits import ModelTraits

__all__ = [
    'MODELS_EXTRA',
    'ModelsExtraMissingError',
    'SpandrelNetwork',
    'from_descriptor',
    'guess_family',
    'is_spandrel_descriptor',
    'load_with_spandrel',
]

MODELS_EXTRA = 'pip install -e ".[models]", or pip install spandrel'

# Keys that tell an architecture, every one needed; more specific entries first (HAT and ATD before SwinIR, whose
# keys they share). The names are those of the architectures' reference implementations, as spandrel reads them.
_KNOWN_KEYS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ('ATD', ('relative_position_index_SA', 'layers.0.residual_group.td')),
    ('HAT', ('relative_position_index_SA', 'layers.0.residual_group.blocks.0.conv_block.cab.0.weight')),
    ('DRCT', ('layers.0.swin1.attn.relative_position_index',)),
    ('Swin2SR', ('patch_embed.proj.weight', 'layers.0.residual_group.blocks.0.attn.relative_position_index')),
    ('SwinIR', ('layers.0.residual_group.blocks.0.attn.relative_position_index', 'conv_first.weight')),
    ('CRAFT', ('layers.0.residual_group.hf_blocks.0.attn.temperature',)),
    ('RGT', ('before_RG.1.weight', 'layers.0.blocks.0.gamma', 'layers.0.blocks.0.mlp.fc1.weight')),
    ('DAT', ('before_RG.1.weight', 'layers.0.blocks.0.ffn.sg.conv.weight')),
    ('GRL', ('norm_start.weight', 'norm_end.weight')),
    ('MMRealSR', ('body.0.rdb1.conv1.weight', 'am_list.0.fc.0.weight')),
    ('SPAN', ('block_1.c1_r.sk.weight', 'conv_cat.weight')),
    ('Real-CUGAN', ('unet1.conv1.conv.0.weight', 'unet1.conv_bottom.weight')),
    ('OmniSR', ('residual_layer.0.residual_layer.0.layer.0.fn.0.weight', 'input.weight')),
    ('SCUNet', ('m_head.0.weight', 'm_tail.0.weight')),
    ('FBCNN', ('m_head.weight', 'qf_pred.0.res.0.weight')),
    ('DRUNet', ('m_head.weight', 'm_body.0.res.0.weight')),
    ('RCAN', ('body.0.body.0.body.3.conv_du.0.weight',)),
    ('NAFNet', ('intro.weight', 'middle_blks.0.beta')),
    ('Uformer', ('input_proj.proj.0.weight', 'encoderlayer_0.blocks.0.norm1.weight')),
    ('SAFMN', ('to_feat.weight', 'feats.0.safm.aggr.weight')),
    ('PLKSR / RealPLKSR', ('feats.0.weight', 'feats.1.refine.weight')),
    ('DITN', ('UFONE.0.ITLs.0.attn.temperature',)),
    ('MoSR', ('gblocks.0.weight', 'gblocks.1.fc1.weight')),
    ('SwiftSRGAN', ('initial.cnn.depthwise.weight',)),
    ('GFPGAN', ('toRGB.0.weight', 'stylegan_decoder.style_mlp.1.weight')),
    ('RestoreFormer', ('quantize.embedding.weight', 'encoder.conv_in.weight')),
    ('LaMa (inpainting)', ('model.model.1.bn_l.running_mean',)),
)


def guess_family(state_dict: StateDict) -> Optional[str]:
    """Name the architecture a state dict's keys look like, without spandrel.

    Args:
        state_dict: Generator weights.

    Returns:
        A family name (an ESRGAN variant this package does not map, or one of about 25 architectures), or None.
    """
    for name, keys in _KNOWN_KEYS:
        if all(key in state_dict for key in keys):
            return name
    return esrgan_variant(state_dict)


def _spandrel() -> Any:
    """The spandrel module; None when it is not installed."""
    try:
        import spandrel
    except ImportError:
        return None
    return spandrel


def is_spandrel_descriptor(obj: Any) -> bool:
    """Whether ``obj`` is a model that spandrel loaded (an ``ImageModelDescriptor`` or another ``ModelBase``)."""
    spandrel = sys.modules.get('spandrel')
    return spandrel is not None and isinstance(obj, spandrel.ModelBase)


class ModelsExtraMissingError(CheckpointError):
    """spandrel, which the ``models`` extra installs, is not installed."""


class SpandrelNetwork(nn.Module):
    """A network that spandrel loaded, called the way spandrel calls it (some architectures need their own call).

    Args:
        descriptor: spandrel's ``ImageModelDescriptor``; its network is this module's ``net``.
    """

    def __init__(self, descriptor: Any) -> None:
        super().__init__()
        self.net = descriptor.model
        self._call = descriptor  # a plain attribute: the network is registered once, as `net`

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The network's output for a batch in [0, 1] (clamped to [0, 1], as spandrel does)."""
        # transformer architectures reshape with .view, which channels-last inputs do not allow
        return self._call(x.contiguous())


def from_descriptor(descriptor: Any) -> Tuple[nn.Module, ArchInfo]:
    """The engine's module and record for a model that spandrel loaded.

    Args:
        descriptor: What ``spandrel.ModelLoader`` returned.

    Returns:
        The network in eval mode and its :class:`ArchInfo` (spandrel's architecture id, no constructor arguments,
        its scale and its traits).

    Raises:
        CheckpointError: The model is not an image-to-image network on 3-channel (RGB) images.
    """
    spandrel = _spandrel()
    name = descriptor.architecture.name
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise CheckpointError(f'spandrel loads them as {name}, a {descriptor.purpose} model, not an upscaler.')
    if (descriptor.input_channels, descriptor.output_channels) != (3, 3):
        raise CheckpointError(
            f'spandrel loads them as {name}, which takes {descriptor.input_channels} channels and gives '
            f'{descriptor.output_channels}; only RGB (3-channel) models are supported.'
        )
    rules = descriptor.size_requirements
    traits = ModelTraits(
        multiple_of=rules.multiple_of,
        minimum=rules.minimum,
        square=rules.square,
        fp16=descriptor.supports_half,
        bf16=descriptor.supports_bfloat16,
    )
    descriptor.model.float().eval()
    return SpandrelNetwork(descriptor).eval(), ArchInfo(descriptor.architecture.id, {}, descriptor.scale, traits)


def load_with_spandrel(state_dict: StateDict) -> Tuple[nn.Module, ArchInfo]:
    """Load a state dict of an architecture this package does not run natively, through spandrel.

    Args:
        state_dict: Generator weights (as :func:`realesrgan.zoo.load_state_dict` returns them).

    Returns:
        The network with its weights (CPU, eval mode, fp32) and its :class:`ArchInfo`.

    Raises:
        ModelsExtraMissingError: spandrel is not installed.
        CheckpointError: spandrel does not recognise the weights, or they are not an RGB image-to-image model.
    """
    spandrel = _spandrel()
    if spandrel is None:
        raise ModelsExtraMissingError('spandrel is not installed')
    try:
        with warnings.catch_warnings():
            # window-attention architectures call torch.meshgrid without `indexing` as they are built: torch's
            # notice about its own future default is for spandrel's authors, not for the user
            warnings.filterwarnings('ignore', message=r'torch\.meshgrid: in an upcoming release', category=UserWarning)
            descriptor = spandrel.ModelLoader().load_from_state_dict(dict(state_dict))
    except spandrel.UnsupportedModelError:
        raise CheckpointError('spandrel does not recognise them either.') from None
    except Exception as error:  # an architecture's loader failing on odd shapes raises anything
        raise CheckpointError(f'spandrel fails to load them ({type(error).__name__}: {error}).') from None
    return from_descriptor(descriptor)
