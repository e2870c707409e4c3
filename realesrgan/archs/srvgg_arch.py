"""SRVGGNetCompact: a plain VGG-style stack of 3x3 convolutions that upsamples once at the very end.

It is the small, fast network behind the realesr-animevideov3 and realesr-general-x4v3 models: all work
happens at the low resolution, the last convolution predicts ``upscale**2`` sub-pixels per channel, a pixel
shuffle arranges them, and the network only learns the residual over a nearest-neighbour upscale of the input.
"""

from typing import Callable, Dict

import torch
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn
from torch.nn import functional as F

_ACTIVATIONS: Dict[str, Callable[[int], nn.Module]] = {
    'relu': lambda num_feat: nn.ReLU(inplace=True),
    'prelu': lambda num_feat: nn.PReLU(num_parameters=num_feat),
    'leakyrelu': lambda num_feat: nn.LeakyReLU(negative_slope=0.1, inplace=True),
}


@ARCH_REGISTRY.register()
class SRVGGNetCompact(nn.Module):
    """Compact VGG-style super-resolution network.

    The state-dict layout matches the official checkpoints: ``body.0`` is the first convolution, then each
    activation and convolution alternate (``body.1``, ``body.2``, ...), and the last entry of ``body`` is the
    convolution that produces ``num_out_ch * upscale**2`` channels for the pixel shuffle.

    Args:
        num_in_ch: Number of input channels.
        num_out_ch: Number of output channels.
        num_feat: Number of feature channels of the body.
        num_conv: Number of feature-to-feature convolutions in the body.
        upscale: Upsampling factor.
        act_type: Activation after each convolution: ``'relu'``, ``'prelu'`` or ``'leakyrelu'``.
    """

    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        num_feat: int = 64,
        num_conv: int = 16,
        upscale: int = 4,
        act_type: str = 'prelu',
    ) -> None:
        super().__init__()
        if act_type not in _ACTIVATIONS:
            raise ValueError(f'SRVGGNetCompact: unknown act_type {act_type!r}; use one of {sorted(_ACTIVATIONS)}.')
        self.num_in_ch = num_in_ch
        self.num_out_ch = num_out_ch
        self.num_feat = num_feat
        self.num_conv = num_conv
        self.upscale = upscale
        self.act_type = act_type

        make_act = _ACTIVATIONS[act_type]
        self.body = nn.ModuleList([nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), make_act(num_feat)])
        for _ in range(num_conv):
            self.body.append(nn.Conv2d(num_feat, num_feat, 3, 1, 1))
            self.body.append(make_act(num_feat))
        self.body.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upscale a batch of images.

        Args:
            x: Input of shape (N, num_in_ch, H, W).

        Returns:
            Output of shape (N, num_out_ch, H * upscale, W * upscale).
        """
        out = x
        for layer in self.body:
            out = layer(out)
        out = self.upsampler(out)
        base = F.interpolate(x, scale_factor=self.upscale, mode='nearest')
        if base.shape[1] != out.shape[1]:
            raise ValueError(
                f'SRVGGNetCompact: the residual needs num_in_ch == num_out_ch, got input with '
                f'{x.shape[1]} channels and {out.shape[1]} output channels.'
            )
        return out + base
