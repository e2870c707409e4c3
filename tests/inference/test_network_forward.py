"""Banded RRDBNet tail (realesrgan/inference/network_forward.py): the same output as ``model(x)``, band by band."""

import pytest
import torch
from basicsr.archs.rrdbnet_arch import RRDBNet

from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.inference import network_forward
from realesrgan.inference.network_forward import MIN_BAND_ROWS, forward_network


def small_rrdbnet(scale: int) -> RRDBNet:
    torch.manual_seed(scale)
    model = RRDBNet(num_in_ch=3, num_out_ch=3, scale=scale, num_feat=16, num_block=1, num_grow_ch=8).eval()
    for parameter in model.parameters():  # default init is too tame to show a missing halo
        parameter.data.normal_(0.0, 0.2)
    return model


def banded(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Forward with bands of MIN_BAND_ROWS rows (body pixels) whatever the width."""
    feat_width = x.shape[3] // {4: 1, 2: 2, 1: 4}[model.scale]
    return forward_network(model, x, band_pixels=MIN_BAND_ROWS * feat_width)


def relative_error(result: torch.Tensor, expected: torch.Tensor) -> float:
    return float((result.float() - expected.float()).abs().max() / expected.float().abs().max())


@pytest.mark.parametrize('scale, height, width', [(4, 37, 11), (2, 70, 14), (1, 100, 12)])
def test_banded_tail_equals_the_whole_forward(scale, height, width):
    model = small_rrdbnet(scale)
    x = torch.rand(2, 3, height, width)
    with torch.inference_mode():
        expected = model(x)
        result = banded(model, x)
    assert result.shape == expected.shape == (2, 3, height * scale, width * scale)
    assert result.dtype == torch.float32
    assert relative_error(result, expected) < 1e-6  # the same up to float rounding


def test_the_halo_is_needed(monkeypatch):
    """Without the halo, rows next to band edges change: the equality above is not a trivial one."""
    model = small_rrdbnet(4)
    x = torch.rand(1, 3, 37, 11)
    monkeypatch.setattr(network_forward, 'TAIL_HALO', 0)
    with torch.inference_mode():
        result, expected = banded(model, x), model(x)
    difference = (result - expected).abs() / expected.abs().max()
    # The tail reaches 5 output rows (conv_up1: 2 at 4x; conv_up2, conv_hr, conv_last: 1 each), so the first band's
    # rows up to 8 * 4 - 5 do not see its edge.
    assert difference[:, :, : 8 * 4 - 5].max() < 1e-6
    assert difference[:, :, 8 * 4 - 5].max() > 1e-3


def test_channels_last_and_bf16_keep_layout_dtype_and_values():
    model = small_rrdbnet(4).to(memory_format=torch.channels_last)
    x = torch.rand(1, 3, 30, 9).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        result = banded(model, x)
        assert result.is_contiguous(memory_format=torch.channels_last)
        assert relative_error(result, model(x)) < 1e-6
        with torch.autocast('cpu', dtype=torch.bfloat16):
            result_bf16, expected_bf16 = banded(model, x), model(x)
    assert result_bf16.dtype == expected_bf16.dtype == torch.bfloat16
    assert relative_error(result_bf16, expected_bf16) < 1e-2


def test_small_inputs_run_in_one_piece(monkeypatch):
    model = small_rrdbnet(4)
    calls = []
    original_tail = network_forward._rrdbnet_tail
    monkeypatch.setattr(network_forward, '_rrdbnet_tail', lambda m, f: calls.append(f.shape[2]) or original_tail(m, f))
    with torch.inference_mode():
        banded(model, torch.rand(1, 3, MIN_BAND_ROWS + 4, 8))
        assert calls == [MIN_BAND_ROWS + 4]
        calls.clear()
        banded(model, torch.rand(1, 3, 3 * MIN_BAND_ROWS, 8))
    assert calls == [MIN_BAND_ROWS + 2, MIN_BAND_ROWS + 4, MIN_BAND_ROWS + 2]  # bands with their halos


def test_other_networks_and_subclasses_run_their_own_forward():
    class Shifted(RRDBNet):
        def forward(self, x):
            return super().forward(x) + 1.0

    torch.manual_seed(0)
    shifted = Shifted(3, 3, scale=4, num_feat=8, num_block=1, num_grow_ch=4).eval()
    compact = SRVGGNetCompact(num_feat=8, num_conv=2, upscale=4).eval()
    x = torch.rand(1, 3, 40, 6)
    with torch.inference_mode():
        torch.testing.assert_close(forward_network(shifted, x, band_pixels=8), shifted(x), rtol=0, atol=0)
        torch.testing.assert_close(forward_network(compact, x, band_pixels=8), compact(x), rtol=0, atol=0)
