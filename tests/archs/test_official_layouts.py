"""SRVGGNetCompact and UNetDiscriminatorSN: official state-dict layout, output shapes and output values."""
import re
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import torch
from basicsr.archs.rrdbnet_arch import RRDBNet
from basicsr.utils.registry import ARCH_REGISTRY

from realesrgan.archs.discriminator_arch import UNetDiscriminatorSN
from realesrgan.archs.srvgg_arch import SRVGGNetCompact

KEYS_FILE = Path(__file__).resolve().parent / 'checkpoint_keys.txt'


def official_layouts() -> Dict[str, Tuple[List[Tuple[str, List[int]]], int, int]]:
    """Parse checkpoint_keys.txt: section title -> ([(key, shape)], tensor count, number count)."""
    sections: Dict[str, Tuple[List[Tuple[str, List[int]]], int, int]] = {}
    title, entries = None, []
    for line in KEYS_FILE.read_text().splitlines():
        if line.startswith('## '):
            title, entries = line[3:].split('(')[0].strip(), []
        elif match := re.match(r'# (\d+) tensors, (\d+) numbers', line):
            sections[title] = (entries, int(match.group(1)), int(match.group(2)))
        elif title and re.match(r'^[\w.]+ \[', line):
            key, shape = line.split(' ', 1)
            entries.append((key, [int(v) for v in shape.strip('[]').split(',')]))
    return sections


LAYOUTS = official_layouts()


@pytest.mark.parametrize('title, build', [
    ('UNetDiscriminatorSN', lambda: UNetDiscriminatorSN(num_in_ch=3, num_feat=64, skip_connection=True)),
    ('SRVGGNetCompact', lambda: SRVGGNetCompact(3, 3, num_feat=64, num_conv=16, upscale=4, act_type='prelu')),
    ('RRDBNet', lambda: RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=2)),
])
def test_state_dict_matches_official_checkpoint(title, build):
    entries, num_tensors, num_numbers = LAYOUTS[title]
    state_dict = build().state_dict()
    for key, shape in entries:
        assert key in state_dict, f'{title}: missing official key {key}'
        assert list(state_dict[key].shape) == shape, f'{title}: {key} has {list(state_dict[key].shape)}, not {shape}'
    assert len(state_dict) == num_tensors
    assert sum(t.numel() for t in state_dict.values()) == num_numbers
    if title != 'RRDBNet':  # the file lists every key of these two
        assert list(state_dict) == [key for key, _ in entries]


def test_official_layout_file_was_parsed():
    assert set(LAYOUTS) == {'UNetDiscriminatorSN', 'SRVGGNetCompact', 'RRDBNet'}
    assert len(LAYOUTS['SRVGGNetCompact'][0]) == 53 and len(LAYOUTS['UNetDiscriminatorSN'][0]) == 28


def test_both_architectures_are_registered_under_their_plain_names():
    assert ARCH_REGISTRY.get('SRVGGNetCompact') is SRVGGNetCompact
    assert ARCH_REGISTRY.get('UNetDiscriminatorSN') is UNetDiscriminatorSN


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


@pytest.mark.parametrize('skip_connection', [True, False])
def test_discriminator_gives_per_pixel_map_of_input_size(skip_connection):
    net = UNetDiscriminatorSN(num_in_ch=3, num_feat=8, skip_connection=skip_connection)
    out = net(torch.rand(2, 3, 32, 48))
    assert out.shape == (2, 1, 32, 48)
    assert torch.isfinite(out).all()


def test_discriminator_output_is_the_last_bias_when_weights_are_zero():
    net = UNetDiscriminatorSN(num_in_ch=3, num_feat=8).eval()
    with torch.no_grad():
        net.conv9.weight.zero_()
        net.conv9.bias.fill_(0.75)
    assert torch.equal(net(torch.rand(1, 3, 16, 16)), torch.full((1, 1, 16, 16), 0.75))


def test_discriminator_skip_connections_change_the_output():
    torch.manual_seed(0)
    with_skip = UNetDiscriminatorSN(3, num_feat=8, skip_connection=True).eval()
    without_skip = UNetDiscriminatorSN(3, num_feat=8, skip_connection=False).eval()
    without_skip.load_state_dict(with_skip.state_dict())
    x = torch.rand(1, 3, 16, 16)
    assert not torch.allclose(with_skip(x), without_skip(x))


def test_discriminator_weights_are_spectrally_normalised():
    torch.manual_seed(0)
    net = UNetDiscriminatorSN(3, num_feat=8).train()
    for _ in range(100):  # each training-mode forward of the layer runs one power iteration
        net.conv4(torch.rand(1, net.conv4.in_channels, 3, 3))
    weight = net.conv4.weight.detach().reshape(net.conv4.weight.shape[0], -1)
    assert torch.linalg.matrix_norm(weight, ord=2).item() == pytest.approx(1.0, abs=5e-3)
    original = net.conv4.weight_orig.detach().reshape(weight.shape[0], -1)
    assert torch.linalg.matrix_norm(original, ord=2).item() != pytest.approx(1.0, abs=1e-2)


def test_discriminator_rejects_sizes_not_divisible_by_8():
    net = UNetDiscriminatorSN(3, num_feat=8)
    with pytest.raises(ValueError, match='divisible by 8, got 20x16'):
        net(torch.rand(1, 3, 20, 16))

