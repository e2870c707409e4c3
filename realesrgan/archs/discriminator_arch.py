"""UNetDiscriminatorSN: the U-Net discriminator with spectral normalisation used to train Real-ESRGAN.

Instead of one realness score per image it returns a realness map with the input's size, so the generator gets
per-pixel feedback on which regions still look synthetic. Spectral normalisation keeps the U-Net's training
stable under the strong, mixed degradations.
"""

import torch
from basicsr.utils.registry import ARCH_REGISTRY
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import spectral_norm

_NEGATIVE_SLOPE = 0.2


def _sn_conv(in_ch: int, out_ch: int, kernel_size: int, stride: int) -> nn.Module:
    """Bias-free convolution with (classic, ``weight_orig``/``weight_u``/``weight_v``) spectral normalisation."""
    return spectral_norm(nn.Conv2d(in_ch, out_ch, kernel_size, stride, 1, bias=False))


@ARCH_REGISTRY.register()
class UNetDiscriminatorSN(nn.Module):
    """U-Net discriminator with spectral normalisation.

    Three stride-2 convolutions go down to 1/8 of the input size, three bilinear upsamplings come back up
    (with skip connections from the matching encoder levels when ``skip_connection`` is on), and two refining
    convolutions precede the one-channel output.

    Args:
        num_in_ch: Number of input channels.
        num_feat: Number of channels of the first level; deeper levels use 2x, 4x and 8x as many.
        skip_connection: Whether to add the encoder features to the decoder features of the same level.
    """

    def __init__(self, num_in_ch: int, num_feat: int = 64, skip_connection: bool = True) -> None:
        super().__init__()
        self.skip_connection = skip_connection
        self.conv0 = nn.Conv2d(num_in_ch, num_feat, kernel_size=3, stride=1, padding=1)
        # encoder
        self.conv1 = _sn_conv(num_feat, num_feat * 2, 4, 2)
        self.conv2 = _sn_conv(num_feat * 2, num_feat * 4, 4, 2)
        self.conv3 = _sn_conv(num_feat * 4, num_feat * 8, 4, 2)
        # decoder
        self.conv4 = _sn_conv(num_feat * 8, num_feat * 4, 3, 1)
        self.conv5 = _sn_conv(num_feat * 4, num_feat * 2, 3, 1)
        self.conv6 = _sn_conv(num_feat * 2, num_feat, 3, 1)
        # refinement
        self.conv7 = _sn_conv(num_feat, num_feat, 3, 1)
        self.conv8 = _sn_conv(num_feat, num_feat, 3, 1)
        self.conv9 = nn.Conv2d(num_feat, 1, kernel_size=3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Score every pixel of a batch of images.

        Args:
            x: Input of shape (N, num_in_ch, H, W); H and W must be multiples of 8.

        Returns:
            Realness logits of shape (N, 1, H, W).
        """
        height, width = x.shape[-2:]
        if height % 8 or width % 8:
            raise ValueError(
                f'UNetDiscriminatorSN needs height and width divisible by 8, got {height}x{width}; '
                'crop or pad the patches (e.g. choose gt_size as a multiple of 8).'
            )

        def act(t: torch.Tensor) -> torch.Tensor:
            return F.leaky_relu(t, negative_slope=_NEGATIVE_SLOPE, inplace=True)

        def up(t: torch.Tensor) -> torch.Tensor:
            return F.interpolate(t, scale_factor=2, mode='bilinear', align_corners=False)

        x0 = act(self.conv0(x))
        x1 = act(self.conv1(x0))
        x2 = act(self.conv2(x1))
        x3 = act(self.conv3(x2))

        x4 = act(self.conv4(up(x3)))
        if self.skip_connection:
            x4 = x4 + x2
        x5 = act(self.conv5(up(x4)))
        if self.skip_connection:
            x5 = x5 + x1
        x6 = act(self.conv6(up(x5)))
        if self.skip_connection:
            x6 = x6 + x0

        out = act(self.conv7(x6))
        out = act(self.conv8(out))
        return self.conv9(out)
