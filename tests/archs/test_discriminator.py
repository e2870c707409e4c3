"""UNetDiscriminatorSN: a per-pixel map of the input size, skip connections, spectral norm, size checks."""

import pytest
import torch

from realesrgan.archs.discriminator_arch import UNetDiscriminatorSN


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
