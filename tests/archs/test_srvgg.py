"""SRVGGNetCompact: output shapes, the nearest-upsampled residual, the pixel shuffle and the activations."""

import pytest
import torch

from realesrgan.archs.srvgg_arch import SRVGGNetCompact


@pytest.mark.parametrize('upscale', [2, 3, 4])
@pytest.mark.parametrize('act_type', ['relu', 'prelu', 'leakyrelu'])
def test_srvgg_output_shape(upscale, act_type):
    net = SRVGGNetCompact(num_feat=8, num_conv=2, upscale=upscale, act_type=act_type)
    out = net(torch.rand(2, 3, 5, 7))
    assert out.shape == (2, 3, 5 * upscale, 7 * upscale)
    assert out.dtype == torch.float32


@pytest.mark.parametrize('upscale', [2, 3, 4])
def test_zero_weight_srvgg_returns_nearest_upsampled_input(upscale):
    net = SRVGGNetCompact(num_feat=8, num_conv=3, upscale=upscale)
    with torch.no_grad():
        for param in net.parameters():
            param.zero_()
    x = torch.rand(1, 3, 6, 5)
    expected = x.repeat_interleave(upscale, dim=2).repeat_interleave(upscale, dim=3)
    assert torch.equal(net(x), expected)


def test_srvgg_last_conv_bias_is_pixel_shuffled_per_channel():
    """Channel c*s*s + i*s + j of the last conv lands at sub-pixel (i, j) of output channel c."""
    upscale = 2
    net = SRVGGNetCompact(num_feat=4, num_conv=1, upscale=upscale)
    with torch.no_grad():
        for param in net.parameters():
            param.zero_()
        net.body[-1].bias.copy_(torch.arange(3 * upscale * upscale, dtype=torch.float32))
    out = net(torch.zeros(1, 3, 2, 2))
    # output channel 1, sub-pixel (1, 0) comes from bias index 1*4 + 1*2 + 0 = 6, at every low-res position
    assert torch.equal(out[0, 1, 1::2, 0::2], torch.full((2, 2), 6.0))
    assert torch.equal(out[0, 2, 0::2, 1::2], torch.full((2, 2), 9.0))


@pytest.mark.parametrize('act_type, negative_input_response', [('relu', 0.0), ('leakyrelu', -0.1), ('prelu', -0.25)])
def test_srvgg_activation_types(act_type, negative_input_response):
    net = SRVGGNetCompact(num_in_ch=1, num_out_ch=1, num_feat=1, num_conv=0, upscale=1, act_type=act_type)
    with torch.no_grad():
        first, last = net.body[0], net.body[-1]
        first.weight.zero_()
        first.weight[0, 0, 1, 1] = 1.0
        first.bias.zero_()
        last.weight.zero_()
        last.weight[0, 0, 1, 1] = 1.0
        last.bias.zero_()
    out = net(torch.full((1, 1, 3, 3), -1.0))
    # identity convolutions around the activation: output = act(-1) + (-1) residual
    assert torch.allclose(out, torch.full((1, 1, 3, 3), negative_input_response - 1.0))


def test_srvgg_rejects_unknown_activation():
    with pytest.raises(ValueError, match="unknown act_type 'gelu'"):
        SRVGGNetCompact(act_type='gelu')
