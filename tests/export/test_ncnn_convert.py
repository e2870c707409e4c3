"""ncnn -> PyTorch conversion, with the ncnn runtime (pip install ncnn) as the independent reference."""

import runpy
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import pytest
import torch
from helpers import REPO_ROOT, packaged_ncnn, read_sample

import realesrgan  # noqa: F401
from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.export.parity import output_psnr, torch_forward
from realesrgan.zoo import NcnnFormatError, convert_ncnn, get_model_spec, load_state_dict

ncnn = pytest.importorskip('ncnn')
from realesrgan.export.ncnn_runtime import run_ncnn  # noqa: E402  (needs the ncnn runtime)

FP16_TAG = 0x01306B47


@pytest.fixture(scope='module')
def photo_crop() -> np.ndarray:
    """A 32x32 RGB crop of the astronaut photo, float32 in [0, 1] (small: the 23-block model is slow on CPU)."""
    bgr = read_sample('astronaut.png')[40:72, 48:80, :3]
    return np.ascontiguousarray(bgr[:, :, ::-1], dtype=np.float32) / 255.0


@pytest.mark.parametrize(
    'name, num_numbers',
    [
        ('RealESRGAN_x4plus', 16697987),
        ('RealESRGAN_x4plus_anime_6B', 4467779),
        ('realesr-animevideov3', 621424),
        ('realesr-animevideov3-x2', 621424),
    ],
)
def test_converted_official_model_matches_the_ncnn_runtime(name, num_numbers, photo_crop):
    spec = get_model_spec(name)
    param_path, bin_path = packaged_ncnn(name)
    conversion = convert_ncnn(param_path, bin_path)
    assert conversion.info == spec.network
    assert conversion.outscale == (spec.outscale or spec.netscale)
    assert conversion.storage == 'float16'
    assert sum(tensor.numel() for tensor in conversion.state_dict.values()) == num_numbers
    assert all(tensor.dtype == torch.float32 for tensor in conversion.state_dict.values())

    model = conversion.info.build()
    model.load_state_dict(conversion.state_dict)
    reference = run_ncnn(param_path, bin_path, photo_crop, num_threads=1)
    output = torch_forward(model, photo_crop, conversion.final_resize)

    side = int(32 * conversion.outscale)
    assert reference.shape == output.shape == (side, side, 3)
    value = output_psnr(reference, output)
    print(f'{name}: PSNR vs ncnn runtime {value:.1f} dB')
    assert value >= 60


def test_animevideo_variants_hold_the_same_weights():
    x4 = convert_ncnn(*packaged_ncnn('realesr-animevideov3'))
    for name, resize in (('realesr-animevideov3-x2', 0.5), ('realesr-animevideov3-x3', 0.75)):
        variant = convert_ncnn(*packaged_ncnn(name))
        assert variant.final_resize == resize
        assert all(torch.equal(variant.state_dict[key], x4.state_dict[key]) for key in x4.state_dict)


def write_srvgg_ncnn(
    folder: Path, layers: List[Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]], upscale: int, storage: str
) -> Tuple[str, str]:
    """Write an SRVGGNetCompact-shaped ncnn model (conv [+ PReLU] ..., PixelShuffle, nearest residual).

    Args:
        layers: Per convolution its weight [out, in, 3, 3], bias [out] and PReLU slopes (None for the last).
        storage: 'float16' or 'float32' weight storage.
    """
    lines, data = [], bytearray()
    blob = 'data_conv'
    for index, (weight, bias, slopes) in enumerate(layers):
        lines.append(f'Convolution conv{index} 1 1 {blob} c{index} 0={weight.shape[0]} 1=3 4=1 5=1 6={weight.size}')
        blob = f'c{index}'
        if storage == 'float16':
            packed = weight.astype('<f2').tobytes()
            data += FP16_TAG.to_bytes(4, 'little') + packed + bytes(-len(packed) % 4)
        else:
            data += bytes(4) + weight.astype('<f4').tobytes()
        data += bias.astype('<f4').tobytes()
        if slopes is not None:
            lines.append(f'PReLU prelu{index} 1 1 {blob} p{index} 0={slopes.size}')
            blob = f'p{index}'
            data += slopes.astype('<f4').tobytes()
    lines = (
        ['Input input 0 1 data', 'Split split 1 2 data data_conv data_base']
        + lines
        + [
            f'PixelShuffle shuffle 1 1 {blob} shuffled 0={upscale}',
            f'Interp upsample 1 1 data_base base 0=1 1={float(upscale):e} 2={float(upscale):e}',
            'BinaryOp add 2 1 shuffled base output 0=0',
        ]
    )
    blobs = {token for line in lines for token in line.split()[4:] if '=' not in token}
    param_path, bin_path = folder / 'model.param', folder / 'model.bin'
    param_path.write_text('\n'.join(['7767517', f'{len(lines)} {len(blobs)}'] + lines) + '\n')
    bin_path.write_bytes(bytes(data))
    return str(param_path), str(bin_path)


def srvgg_layers(model: SRVGGNetCompact) -> List[Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]]:
    body = list(model.body)
    convs = body[0::2]
    slopes = [act.weight for act in body[1::2]] + [None]
    return [
        (conv.weight.detach().numpy(), conv.bias.detach().numpy(), None if slope is None else slope.detach().numpy())
        for conv, slope in zip(convs, slopes)
    ]


@pytest.mark.parametrize('storage', ['float32', 'float16'])
def test_round_trip_of_a_random_model_in_both_storages(storage, tmp_path):
    torch.manual_seed(0)
    # 5 features: the first convolution's 135 float16 values need the 4-byte padding.
    model = SRVGGNetCompact(num_feat=5, num_conv=2, upscale=2, act_type='prelu').eval()
    with torch.no_grad():
        for act in list(model.body)[1::2]:
            act.weight.uniform_(0.05, 0.3)
    param_path, bin_path = write_srvgg_ncnn(tmp_path, srvgg_layers(model), upscale=2, storage=storage)

    conversion = convert_ncnn(param_path, bin_path)

    assert conversion.storage == storage
    assert conversion.info.kwargs == dict(
        num_in_ch=3, num_out_ch=3, num_feat=5, num_conv=2, upscale=2, act_type='prelu'
    )
    tolerance = 0 if storage == 'float32' else 1e-3
    for key, tensor in model.state_dict().items():
        assert torch.allclose(conversion.state_dict[key], tensor, rtol=tolerance, atol=tolerance), key
    image = np.random.default_rng(1).random((12, 10, 3), dtype=np.float32)
    rebuilt = conversion.info.build()
    rebuilt.load_state_dict(conversion.state_dict)
    assert output_psnr(run_ncnn(param_path, bin_path, image, num_threads=1), torch_forward(rebuilt, image)) >= 60


@pytest.fixture()
def animevideo_copy(tmp_path) -> Tuple[Path, Path]:
    param_path, bin_path = packaged_ncnn('realesr-animevideov3')
    param_copy, bin_copy = tmp_path / 'model.param', tmp_path / 'model.bin'
    param_copy.write_text(Path(param_path).read_text())
    bin_copy.write_bytes(Path(bin_path).read_bytes())
    return param_copy, bin_copy


def test_truncated_bin_names_the_layer_and_offsets(animevideo_copy):
    param_path, bin_path = animevideo_copy
    bin_path.write_bytes(bin_path.read_bytes()[:600000])
    with pytest.raises(
        NcnnFormatError,
        match=r'is truncated: Conv_\d+ \(Convolution, line \d+\) needs \d+ bytes for '
        r'its weights at offset \d+, but the file ends at byte 600000',
    ):
        convert_ncnn(str(param_path), str(bin_path))


def test_bin_with_extra_bytes_does_not_belong_to_the_param(animevideo_copy):
    param_path, bin_path = animevideo_copy
    bin_path.write_bytes(bin_path.read_bytes() + bytes(8))
    with pytest.raises(NcnnFormatError, match='8 bytes left .* do not belong together'):
        convert_ncnn(str(param_path), str(bin_path))


def test_unknown_layer_type_is_named(animevideo_copy):
    param_path, bin_path = animevideo_copy
    param_path.write_text(param_path.read_text().replace('PixelShuffle ', 'Deconvolution '))
    with pytest.raises(NcnnFormatError, match=r'unknown layer DepthToSpace_35 \(Deconvolution, line \d+\)'):
        convert_ncnn(str(param_path), str(bin_path))


def test_int8_weights_are_refused(animevideo_copy):
    param_path, bin_path = animevideo_copy
    data = bytearray(bin_path.read_bytes())
    data[0:4] = (0x000D4B38).to_bytes(4, 'little')
    bin_path.write_bytes(bytes(data))
    with pytest.raises(NcnnFormatError, match='int8-quantised weights'):
        convert_ncnn(str(param_path), str(bin_path))


def test_layer_widths_that_do_not_fit_the_architecture(tmp_path):
    rng = np.random.default_rng(0)
    layers = [
        (rng.random((8, 3, 3, 3)), rng.random(8), rng.random(8)),
        (rng.random((4, 8, 3, 3)), rng.random(4), rng.random(4)),
        (rng.random((12, 4, 3, 3)), rng.random(12), None),
    ]
    param_path, bin_path = write_srvgg_ncnn(tmp_path, layers, upscale=2, storage='float32')
    with pytest.raises(
        NcnnFormatError,
        match=r'Shape mismatch: conv1 \(Convolution, line 7\) has weight of shape '
        r'\[4, 8, 3, 3\], but SRVGGNetCompact expects body.2.weight of shape \[8, 8, 3, 3\]',
    ):
        convert_ncnn(param_path, bin_path)


def test_pixel_shuffle_factor_that_does_not_fit_the_last_convolution(animevideo_copy):
    param_path, bin_path = animevideo_copy
    text = param_path.read_text()
    shuffle_line = next(line for line in text.splitlines() if line.startswith('PixelShuffle'))
    assert shuffle_line.endswith(' 0=4')
    param_path.write_text(text.replace(shuffle_line, shuffle_line[:-1] + '2'))
    with pytest.raises(NcnnFormatError, match=r'Shape mismatch: the last convolution .* has 48 outputs'):
        convert_ncnn(str(param_path), str(bin_path))


def test_damaged_param_files(tmp_path, animevideo_copy):
    param_path, bin_path = animevideo_copy
    text = param_path.read_text()
    param_path.write_text(text.replace('7767517', '7767516', 1))
    with pytest.raises(NcnnFormatError, match='first line must be 7767517'):
        convert_ncnn(str(param_path), str(bin_path))
    param_path.write_text('\n'.join(text.splitlines()[:20]))
    with pytest.raises(NcnnFormatError, match='announces 40 layers but has 18'):
        convert_ncnn(str(param_path), str(bin_path))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        convert_ncnn(str(tmp_path / 'missing.param'), str(bin_path))


@pytest.fixture(scope='module')
def ncnn2pytorch_main():
    """The CLI's main(), run in-process (a subprocess would pay the torch import again)."""
    return runpy.run_path(str(REPO_ROOT / 'scripts' / 'ncnn2pytorch.py'), run_name='ncnn2pytorch')['main']


def test_cli_writes_an_official_checkpoint_and_reports_errors(
    tmp_path, animevideo_copy, ncnn2pytorch_main, monkeypatch, capsys
):
    param_path, bin_path = animevideo_copy
    output = tmp_path / 'out' / 'animevideov3.pth'
    monkeypatch.setattr(
        sys, 'argv', ['ncnn2pytorch.py', str(param_path), str(bin_path), str(output), '--check', '--check-size', '16']
    )
    assert ncnn2pytorch_main() == 0
    printed = capsys.readouterr().out
    assert "weights under 'params'" in printed
    assert float(printed.split('PSNR against the ncnn runtime on a random 16x16 image: ')[1].split()[0]) >= 60
    assert list(torch.load(output, weights_only=True)) == ['params']
    assert len(load_state_dict(str(output))) == 53

    bin_path.write_bytes(bin_path.read_bytes()[:1000])
    monkeypatch.setattr(sys, 'argv', ['ncnn2pytorch.py', str(param_path), str(bin_path), str(tmp_path / 'bad.pth')])
    assert ncnn2pytorch_main() == 1
    assert 'error:' in capsys.readouterr().err
    assert not (tmp_path / 'bad.pth').exists()
