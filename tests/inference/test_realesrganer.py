"""RealESRGANer with the official weights: the original's pixels, modes and dtypes, ncnn parity, tiles, DNI."""

import cv2
import numpy as np
import pytest
import torch
from helpers import official_weights, packaged_ncnn
from torch.nn import functional as F

from realesrgan import RealESRGANer
from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.export.ncnn_runtime import run_ncnn
from realesrgan.metrics import psnr
from realesrgan.zoo import get_model_spec, load_state_dict, save_checkpoint

pytestmark = pytest.mark.weights


def original_enhance(model, img, scale, pre_pad, outscale=None, alpha_upsampler='realesrgan'):
    """The original RealESRGANer.enhance restated from its documented behaviour: float32 numpy pre-processing,
    reflect pre-pad, a plain contiguous fp32 forward, crop, clamp, BGR order, OpenCV gray conversion, rounding."""
    height, width = img.shape[:2]
    max_range = 65535 if np.max(img) > 256 else 255
    img = img.astype(np.float32) / max_range

    def run(rgb):
        x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
        if pre_pad:
            x = F.pad(x, (0, pre_pad, 0, pre_pad), mode='reflect')
        with torch.no_grad():
            out = model(x)[:, :, : height * scale, : width * scale]
        return out[0].clamp(0, 1).numpy()[::-1].transpose(1, 2, 0)  # BGR, HWC

    if img.ndim == 2:
        mode, out = 'L', cv2.cvtColor(run(cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)), cv2.COLOR_BGR2GRAY)
    else:
        mode = 'RGBA' if img.shape[2] == 4 else 'RGB'
        out = run(cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2RGB))
    if mode == 'RGBA':
        alpha = img[:, :, 3]
        if alpha_upsampler == 'realesrgan':
            out_alpha = cv2.cvtColor(run(cv2.cvtColor(alpha, cv2.COLOR_GRAY2RGB)), cv2.COLOR_BGR2GRAY)
        else:
            out_alpha = cv2.resize(alpha, (width * scale, height * scale), interpolation=cv2.INTER_LINEAR)
        out = np.dstack([out, out_alpha])
    dtype = np.uint16 if max_range == 65535 else np.uint8
    out = (out * float(max_range)).round().astype(dtype)
    if outscale is not None and outscale != float(scale):
        out = cv2.resize(out, (int(width * outscale), int(height * outscale)), interpolation=cv2.INTER_LANCZOS4)
    return out, mode


def assert_same_pixels(reference: np.ndarray, output: np.ndarray) -> None:
    """Channels-last fp32 may move a rare pixel by one level; nothing else may differ."""
    assert output.shape == reference.shape and output.dtype == reference.dtype
    difference = np.abs(output.astype(np.int64) - reference.astype(np.int64))
    assert difference.max() <= 1
    assert np.count_nonzero(difference) <= max(2, difference.size // 1000)


@pytest.fixture(scope='module')
def animevideo_path() -> str:
    return official_weights('realesr-animevideov3')


@pytest.fixture(scope='module')
def animevideo_plain(animevideo_path):
    """The official network as a plain contiguous fp32 module (the reference side)."""
    model = get_model_spec('realesr-animevideov3').build()
    model.load_state_dict(load_state_dict(animevideo_path))
    return model.eval()


@pytest.fixture(scope='module')
def animevideo(animevideo_path) -> RealESRGANer:
    return RealESRGANer(
        4, animevideo_path, model=get_model_spec('realesr-animevideov3').build(), pre_pad=0, device='cpu'
    )


@pytest.mark.parametrize('pre_pad', [0, 10])
def test_rgb_matches_the_original_pipeline(animevideo_path, animevideo_plain, sample_bgr, pre_pad):
    upsampler = RealESRGANer(
        4, animevideo_path, model=get_model_spec('realesr-animevideov3').build(), pre_pad=pre_pad, device='cpu'
    )
    assert upsampler.precision == 'fp32' and upsampler.half is False  # the class default stays the original's
    img = sample_bgr[:48, :40]
    output, mode = upsampler.enhance(img)
    reference, _ = original_enhance(animevideo_plain, img, 4, pre_pad)
    assert mode == 'RGB' and output.shape == (192, 160, 3) and output.dtype == np.uint8
    assert_same_pixels(reference, output)
    assert upsampler.output.shape == (1, 3, 192, 160)  # the last call's tensors stay readable, as in the original
    assert upsampler.img.shape == (1, 3, 48 + pre_pad, 40 + pre_pad)


def test_gray_returns_2d_l_image(animevideo, animevideo_plain, sample_gray):
    img = sample_gray[:40, :36]
    output, mode = animevideo.enhance(img)
    reference, _ = original_enhance(animevideo_plain, img, 4, 0)
    assert mode == 'L' and output.shape == (160, 144) and output.dtype == np.uint8
    assert_same_pixels(reference, output)


@pytest.mark.parametrize('alpha_upsampler', ['realesrgan', 'bicubic'])
def test_rgba_upscales_alpha(animevideo, animevideo_plain, sample_bgra, alpha_upsampler):
    img = sample_bgra[:32, :40]
    output, mode = animevideo.enhance(img, alpha_upsampler=alpha_upsampler)
    reference, _ = original_enhance(animevideo_plain, img, 4, 0, alpha_upsampler=alpha_upsampler)
    assert mode == 'RGBA' and output.shape == (128, 160, 4) and output.dtype == np.uint8
    assert_same_pixels(reference, output)
    assert len(np.unique(output[:, :, 3])) > 10  # the radial alpha survives as a gradient


def test_16_bit_input_gives_16_bit_output(animevideo, animevideo_plain, sample_bgr):
    img = sample_bgr[:32, :32].astype(np.uint16) * 256 + np.arange(32, dtype=np.uint16)[:, None, None]
    output, mode = animevideo.enhance(img)
    reference, _ = original_enhance(animevideo_plain, img, 4, 0)
    assert mode == 'RGB' and output.shape == (128, 128, 3) and output.dtype == reference.dtype == np.uint16
    assert output.max() > 255 * 4  # full 16-bit range, not 8-bit values in a 16-bit array
    assert psnr(reference, output) > 60  # peak 65535 for uint16


def test_outscale_resizes_with_lanczos(animevideo, animevideo_plain, sample_bgr):
    img = sample_bgr[:30, :26]
    output, mode = animevideo.enhance(img, outscale=3.5)
    reference, _ = original_enhance(animevideo_plain, img, 4, 0, outscale=3.5)
    assert mode == 'RGB' and output.shape == (105, 91, 3) and output.dtype == np.uint8
    assert_same_pixels(reference, output)


def test_untiled_output_matches_the_ncnn_runtime(animevideo, sample_bgr):
    """Against the official ncnn model run by the ncnn runtime: an implementation nobody on this team wrote."""
    img = sample_bgr[40:104, 32:96]
    output, _ = animevideo.enhance(img)
    param_path, bin_path = packaged_ncnn('realesr-animevideov3')
    rgb = img[:, :, ::-1].astype(np.float32) / 255.0
    ncnn_rgb = run_ncnn(param_path, bin_path, rgb, num_threads=1)
    ncnn_bgr = (np.clip(ncnn_rgb, 0, 1)[:, :, ::-1] * 255.0).round().astype(np.uint8)
    assert output.dtype == ncnn_bgr.dtype and psnr(ncnn_bgr, output) >= 60


def test_tiled_x4plus_matches_untiled_at_default_tile_pad(sample_bgr):
    """Tiles of 32 with the default tile_pad (10): seams get 32 pixels of context and are cross-faded."""
    path = official_weights('RealESRGAN_x4plus')
    img = np.ascontiguousarray(sample_bgr[40:88])  # 48 x 128: three tiles side by side
    untiled = RealESRGANer(4, path, pre_pad=0, device='cpu')
    tiled = RealESRGANer(4, path, tile=32, pre_pad=0, device='cpu')
    assert tiled.tile_pad == 10
    reports = []
    tiled_output, _ = tiled.enhance(img, on_tile=lambda done, total: reports.append((done, total)))
    untiled_output, _ = untiled.enhance(img)
    assert reports[-1][0] == reports[-1][1] >= 2  # there really are seams
    assert tiled_output.dtype == untiled_output.dtype and psnr(untiled_output, tiled_output) >= 50


def test_dni_blends_two_checkpoints(tmp_path, animevideo_path, sample_bgr):
    """Deep network interpolation of two checkpoints of our own: weights and output are the blend's."""
    state_a = load_state_dict(animevideo_path)
    torch.manual_seed(0)
    state_b = {name: value + 0.01 * torch.randn_like(value) for name, value in state_a.items()}
    path_a, path_b, path_mix = (str(tmp_path / name) for name in ('a.pth', 'b.pth', 'mix.pth'))
    save_checkpoint(state_a, path_a, 'params')
    save_checkpoint(state_b, path_b, 'params')
    mixed = {name: 0.3 * state_a[name] + 0.7 * state_b[name] for name in state_a}
    save_checkpoint(mixed, path_mix, 'params')

    def build():
        return get_model_spec('realesr-animevideov3').build()

    blended = RealESRGANer(4, [path_a, path_b], dni_weight=[0.3, 0.7], model=build(), pre_pad=0, device='cpu')
    for name, value in blended.model.state_dict().items():
        torch.testing.assert_close(value, mixed[name], rtol=0, atol=1e-6)
    single = RealESRGANer(4, path_mix, model=build(), pre_pad=0, device='cpu')
    img = sample_bgr[:24, :24]
    output, mode = blended.enhance(img)
    assert mode == 'RGB' and output.shape == (96, 96, 3) and output.dtype == np.uint8
    single_output = single.enhance(img)[0]
    assert single_output.dtype == output.dtype and psnr(single_output, output) > 60
    unblended = RealESRGANer(4, path_a, model=build(), pre_pad=0, device='cpu').enhance(img)[0]
    assert unblended.dtype == output.dtype and psnr(unblended, output) < 60

    other = SRVGGNetCompact(num_conv=4).state_dict()
    save_checkpoint(other, str(tmp_path / 'other.pth'), 'params')
    with pytest.raises(ValueError, match='different networks'):
        RealESRGANer(4, [path_a, str(tmp_path / 'other.pth')], dni_weight=[0.5, 0.5], model=build(), device='cpu')


def test_reduced_precisions_against_fp32(animevideo_path, animevideo, sample_bgr):
    """bf16 autocast stays close to fp32; fp16 is never used on a CPU (it falls back to fp32)."""
    img = sample_bgr[32:96, 32:96]
    reference, _ = animevideo.enhance(img)
    bf16 = RealESRGANer(
        4,
        animevideo_path,
        model=get_model_spec('realesr-animevideov3').build(),
        pre_pad=0,
        device='cpu',
        precision='bf16',
    )
    bf16_output = bf16.enhance(img)[0]
    assert bf16_output.dtype == reference.dtype and psnr(reference, bf16_output) >= 45
    fp16 = RealESRGANer(
        4, animevideo_path, model=get_model_spec('realesr-animevideov3').build(), pre_pad=0, device='cpu', half=True
    )
    assert fp16.half is True and fp16.precision == 'fp32'
    assert np.array_equal(reference, fp16.enhance(img)[0])
