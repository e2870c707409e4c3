"""PyTorch -> ncnn export, with the ncnn runtime (pip install ncnn) and the official ncnn files as references."""

import os
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
import torch
from helpers import INPUTS, official_weights, packaged_ncnn, read_sample
from torch.nn import functional as F

import realesrgan  # noqa: F401
from realesrgan.export.check_images import check_images, check_sizes
from realesrgan.export.ncnn_export import NcnnExportError, export_ncnn, final_resize_for, ncnn_paths
from realesrgan.export.ncnn_graph import build_ncnn_graph
from realesrgan.export.ncnn_writer import bin_bytes, param_text, write_ncnn
from realesrgan.export.parity import output_psnr, torch_forward
from realesrgan.zoo import ArchInfo, build_model_from_checkpoint, convert_ncnn, get_model_spec
from realesrgan.zoo.ncnn import FP16_TAG, parse_param

ncnn = pytest.importorskip('ncnn')
from realesrgan.export.ncnn_runtime import run_ncnn  # noqa: E402  (needs the ncnn runtime)

PHOTO = str(INPUTS / 'astronaut.png')


def tiny(arch: str, **kwargs) -> ArchInfo:
    """A small network of a family, its hyper-parameters overridable."""
    if arch == 'RRDBNet':
        base = dict(num_in_ch=3, num_out_ch=3, num_feat=8, num_block=1, num_grow_ch=4, scale=4)
        base.update(kwargs)
        return ArchInfo(arch, base, base['scale'])
    base = dict(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=4, act_type='prelu')
    base.update(kwargs)
    return ArchInfo(arch, base, base['upscale'])


def trained_checkpoint(folder: Path, info: ArchInfo, steps: int = 5) -> Path:
    """A freshly trained generator (a few L1 steps on the astronaut photo), saved as training saves net_g_*.pth."""
    torch.manual_seed(0)
    model = info.build().train()
    rgb = read_sample('astronaut.png')[:64, :64, 2::-1].copy()
    hr = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    if info.kwargs['num_in_ch'] == 1:
        hr = hr.mean(1, keepdim=True)
    lq = F.interpolate(hr, scale_factor=1 / info.netscale, mode='area') if info.netscale > 1 else hr
    optimizer = torch.optim.Adam(model.parameters(), 2e-3)
    for _ in range(steps):
        loss = F.l1_loss(model(lq), hr)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    path = folder / f'net_g_{steps}.pth'
    weights = {key: value.detach().clone() for key, value in model.state_dict().items()}
    torch.save({'params': weights, 'params_ema': weights}, path)  # training writes both
    return path


def export(model, info, output: Path, side: int = 16, **kwargs):
    inputs = check_images(PHOTO, info.kwargs['num_in_ch'], side, info.traits.multiple_of)
    return export_ncnn(model, info, str(output), inputs, num_threads=1, **kwargs)


def structure(param_path: str) -> list:
    """The graph without names: per non-Split layer its type, inputs and outputs (Split copies resolved to the blob
    they copy, blobs numbered by first appearance) and parameters; Split layers only by the blob they split."""
    source: Dict[str, str] = {}
    numbers: Dict[str, int] = {}
    result = []
    for layer in parse_param(param_path):
        if layer.type == 'Split':
            source.update({copy: source.get(layer.inputs[0], layer.inputs[0]) for copy in layer.outputs})
            continue
        inputs = [numbers.setdefault(source.get(blob, blob), len(numbers)) for blob in layer.inputs]
        outputs = [numbers.setdefault(blob, len(numbers)) for blob in layer.outputs]
        result.append((layer.type, inputs, outputs, layer.params))
    return result


# ------------------------------------------------------------------------- official models against official files
OFFICIAL = [
    pytest.param('RealESRGAN_x4plus', marks=pytest.mark.slow),  # 23 blocks; benchmarks/ncnn_export.py times it
    'RealESRGAN_x4plus_anime_6B',
    'realesr-animevideov3',
    'realesr-animevideov3-x2',
    'realesr-animevideov3-x3',
]


@pytest.mark.weights
@pytest.mark.parametrize('name', OFFICIAL)
def test_export_of_official_weights_agrees_with_the_official_ncnn_files(tmp_path, name):
    spec = get_model_spec(name)
    model, info = build_model_from_checkpoint(official_weights(name))
    result = export(model, info, tmp_path / 'models' / name, outscale=spec.outscale)
    assert min(value for _, value in result.checks) >= 45
    official_param, official_bin = packaged_ncnn(name)

    # the same graph as the official file, layer by layer (names aside), and the blob names the ncnn tools use
    assert structure(result.param_path) == structure(official_param)
    layers = parse_param(result.param_path)
    assert layers[0].outputs == ['data'] and layers[-1].outputs == ['output']
    assert os.path.getsize(result.bin_path) == os.path.getsize(official_bin)

    photo = np.ascontiguousarray(read_sample('astronaut.png')[40:64, 48:72, 2::-1], dtype=np.float32) / 255
    ours = run_ncnn(result.param_path, result.bin_path, photo, num_threads=1)
    theirs = run_ncnn(official_param, official_bin, photo, num_threads=1)
    side = int(24 * (spec.outscale or spec.netscale))
    assert ours.shape == theirs.shape == (side, side, 3)
    value = output_psnr(theirs, ours)
    print(f'{name}: our export vs the official ncnn file {value:.1f} dB')
    assert value >= 60


@pytest.mark.weights
@pytest.mark.parametrize('name', ['RealESRGAN_x4plus_anime_6B', 'realesr-animevideov3'])
@pytest.mark.parametrize('fp16, floor', [(False, 60), (True, 45)])
def test_official_models_in_the_ncnn_runtime_agree_with_pytorch(tmp_path, name, fp16, floor):
    model, info = build_model_from_checkpoint(official_weights(name))
    result = export(model, info, tmp_path / name, fp16=fp16)
    assert result.storage == ('float16' if fp16 else 'float32')
    labels = [label for label, _ in result.checks]
    assert labels == ['random 16x16', 'random 12x16', 'astronaut.png 16x16', 'astronaut.png 12x16']
    assert min(value for _, value in result.checks) >= floor
    # the reader gets the very weights back (float16-rounded convolution weights when stored so)
    conversion = convert_ncnn(result.param_path, result.bin_path)
    assert conversion.info == info and conversion.storage == result.storage
    for key, tensor in model.state_dict().items():
        expected = tensor.half().float() if fp16 and tensor.dim() == 4 else tensor
        assert torch.equal(conversion.state_dict[key], expected), key


# ------------------------------------------------------------------------------- freshly trained checkpoints
@pytest.mark.parametrize(
    'info',
    [
        tiny('RRDBNet'),
        tiny('RRDBNet', scale=2),
        tiny('RRDBNet', scale=1),
        tiny('RRDBNet', num_in_ch=1, num_out_ch=1, num_block=2),
        tiny('SRVGGNetCompact'),
        tiny('SRVGGNetCompact', act_type='relu', upscale=2),
        tiny('SRVGGNetCompact', act_type='leakyrelu', num_in_ch=1, num_out_ch=1),
    ],
    ids=lambda info: f'{info.arch}-x{info.netscale}-{info.kwargs["num_in_ch"]}ch-{info.kwargs.get("act_type", "")}',
)
@pytest.mark.parametrize('fp16, floor', [(False, 60), (True, 45)])
def test_freshly_trained_checkpoints_export_and_read_back(tmp_path, info, fp16, floor):
    checkpoint = trained_checkpoint(tmp_path, info)
    model, detected = build_model_from_checkpoint(str(checkpoint), 'params_ema', info.kwargs.get('act_type', 'relu'))
    assert detected == info
    result = export(model, detected, tmp_path / 'export' / 'my-model', fp16=fp16)
    print(info.arch, info.kwargs, [f'{value:.1f}' for _, value in result.checks])
    odd_size = info.kwargs.get('scale') in (1, 2)  # pixel-unshuffle: the graph pads odd sizes, checked once more
    assert len(result.checks) == 4 + odd_size and min(value for _, value in result.checks) >= floor
    if odd_size:
        assert result.checks[-1][0] == 'random 16x16 cut to 15x15 (odd size, edge-padded in PyTorch)'
        types = [layer.type for layer in parse_param(result.param_path)]
        assert types[2:4] == ['Padding', 'Reorg'] and types[-1] == 'Crop'  # after Input and its Split
    assert sorted(os.listdir(tmp_path / 'export')) == ['my-model.bin', 'my-model.param']
    conversion = convert_ncnn(result.param_path, result.bin_path)
    assert conversion.info == info
    for key, tensor in model.state_dict().items():
        expected = tensor.half().float() if fp16 and tensor.dim() == 4 else tensor
        assert torch.equal(conversion.state_dict[key], expected), key


@pytest.mark.parametrize('scale', [1, 2])
def test_pixel_unshuffle_graphs_take_any_size(tmp_path, scale):
    info = tiny('RRDBNet', scale=scale)
    torch.manual_seed(0)
    model = info.build()
    paths = (str(tmp_path / 'm.param'), str(tmp_path / 'm.bin'))
    write_ncnn(build_ncnn_graph(model, info), *paths, fp16=False)
    rng = np.random.default_rng(0)
    for height, width in ((13, 14), (10, 7), (12, 8)):  # every remainder modulo 4 and 2, and a fitting size
        image = rng.random((height, width, 3), dtype=np.float32)
        multiple = info.traits.multiple_of
        padded = np.pad(image, ((0, -height % multiple), (0, -width % multiple), (0, 0)), mode='edge')
        expected = torch_forward(model, padded)[: height * scale, : width * scale]
        output = run_ncnn(*paths, image, num_threads=1)
        assert output.shape == (height * scale, width * scale, 3)
        assert output_psnr(expected, output) >= 60


def test_x4_network_with_a_final_resize_gives_x2_and_x3(tmp_path):
    model = tiny('SRVGGNetCompact').build()
    for outscale in (2, 3):
        result = export(model, tiny('SRVGGNetCompact'), tmp_path / f'x{outscale}', outscale=outscale)
        assert result.final_resize == outscale / 4 and result.outscale == outscale
        out = run_ncnn(result.param_path, result.bin_path, np.zeros((8, 12, 3), np.float32), num_threads=1)
        assert out.shape == (8 * outscale, 12 * outscale, 3)
        assert convert_ncnn(result.param_path, result.bin_path).final_resize == outscale / 4


# ------------------------------------------------------------------------------------------ refusals
def test_output_scales_that_do_not_fit_are_refused_with_the_reason():
    assert final_resize_for(4, None) is None and final_resize_for(4, 4) is None
    assert final_resize_for(4, 3) == 0.75 and final_resize_for(2, 1) == 0.5
    with pytest.raises(ValueError, match='whole scales'):
        final_resize_for(4, 3.5)
    with pytest.raises(ValueError, match='can only shrink'):
        final_resize_for(2, 4)
    with pytest.raises(ValueError, match='1 to 3'):
        final_resize_for(4, 0)


def test_unknown_family_and_unsupported_layers_are_refused():
    with pytest.raises(ValueError, match='No ncnn graph is known for SwinIR'):
        build_ncnn_graph(torch.nn.Identity(), ArchInfo('SwinIR', {}, 4))
    info = tiny('SRVGGNetCompact')
    model = info.build()
    model.body[0] = torch.nn.Conv2d(3, 8, 5, 1, 2)
    with pytest.raises(ValueError, match='only 3x3 convolutions'):
        build_ncnn_graph(model, info)


def test_weights_beyond_float16_need_fp32():
    info = tiny('SRVGGNetCompact')
    model = info.build()
    with torch.no_grad():
        model.body[2].weight[0, 0, 0, 0] = 1e6
    graph = build_ncnn_graph(model, info)
    with pytest.raises(ValueError, match='beyond float16.*--fp32'):
        bin_bytes(graph, fp16=True)
    assert (
        np.frombuffer(bin_bytes(graph, fp16=False), '<f4')[1 + 8 * 27 + 8 + 8 + 1] == 1e6
    )  # tag, conv, bias, PReLU, tag
    with torch.no_grad():
        model.body[2].weight[0, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='NaN or infinite'):
        bin_bytes(build_ncnn_graph(model, info), fp16=False)


def test_a_failed_check_writes_nothing(tmp_path):
    info = tiny('SRVGGNetCompact')
    with pytest.raises(NcnnExportError, match='differs from PyTorch') as caught:
        export(info.build(), info, tmp_path / 'out' / 'model', min_psnr=1000)
    assert len(caught.value.checks) == 4
    assert os.listdir(tmp_path / 'out') == []  # neither file, nor a temporary one


def test_files_the_runtime_cannot_run_or_the_reader_reads_differently_are_not_written(tmp_path, monkeypatch):
    import realesrgan.export.ncnn_export as ncnn_export

    info = tiny('SRVGGNetCompact')
    model = info.build()

    def truncated_writer(graph, param_path, bin_path, fp16=True):
        write_ncnn(graph, param_path, bin_path, fp16)
        Path(bin_path).write_bytes(Path(bin_path).read_bytes()[:100])

    monkeypatch.setattr(ncnn_export, 'write_ncnn', truncated_writer)
    with pytest.raises(NcnnExportError, match='cannot run the export'):
        export(model, info, tmp_path / 'out' / 'truncated')
    monkeypatch.undo()

    def altered_reader(param_path, bin_path):
        conversion = convert_ncnn(param_path, bin_path)
        conversion.state_dict['body.2.bias'][0] += 1e-3
        return conversion

    monkeypatch.setattr(ncnn_export, 'convert_ncnn', altered_reader)
    with pytest.raises(NcnnExportError, match=r'body\.2\.bias reads back from the exported files differently'):
        export(model, info, tmp_path / 'out' / 'altered')
    assert os.listdir(tmp_path / 'out') == []


# --------------------------------------------------------------------------------------- the file format
def test_bin_layout_per_layer():
    info = tiny('SRVGGNetCompact', num_feat=3, num_conv=0, upscale=1)  # conv 3->3, PReLU, conv 3->3
    model = info.build()
    graph = build_ncnn_graph(model, info)
    data16, data32 = bin_bytes(graph, fp16=True), bin_bytes(graph, fp16=False)
    weight = model.body[0].weight.detach().numpy()
    assert int.from_bytes(data16[:4], 'little') == FP16_TAG
    assert np.array_equal(np.frombuffer(data16, '<f2', 81, 4), weight.astype(np.float16).ravel())
    # 81 float16 values fill 162 bytes, padded to 164; then 3 float32 biases
    assert np.array_equal(np.frombuffer(data16, '<f4', 3, 4 + 164), model.body[0].bias.detach().numpy())
    assert data32[:4] == bytes(4) and np.array_equal(np.frombuffer(data32, '<f4', 81, 4), weight.ravel())
    assert len(data16) == 2 * (4 + 164 + 12) + 12 and len(data32) == 2 * (4 + 324 + 12) + 12
    text = param_text(graph).splitlines()
    assert text[:2] == ['7767517', f'{len(graph.layers)} {graph.blob_count}']
    assert text[2] == 'Input input 0 1 data'
    assert text[-1].startswith('BinaryOp residual 2 1 ') and text[-1].split()[6] == 'output'


def test_check_images_fit_the_network():
    assert check_sizes(64, 1) == [(64, 64), (48, 64)]
    assert check_sizes(30, 4) == [(28, 28), (20, 28)]
    assert check_sizes(2, 4) == [(4, 4), (4, 4)]
    color = check_images(PHOTO, 3, 32, 2)
    assert [image.shape for _, image in color] == [(32, 32, 3), (24, 32, 3)] * 2
    assert all(image.dtype == np.float32 and 0 <= image.min() and image.max() <= 1 for _, image in color)
    crop = read_sample('astronaut.png')[48:80, 48:80, ::-1] / 255
    assert np.allclose(color[2][1], crop)
    gray = check_images(str(INPUTS / 'camera_gray.png'), 1, 16, 1)
    assert [image.shape for _, image in gray] == [(16, 16, 1), (12, 16, 1)] * 2
    assert [label for label, _ in check_images(PHOTO, 4, 16, 1)] == ['random 16x16', 'random 12x16']
    with pytest.raises(FileNotFoundError, match='smaller than 256x256'):
        check_images(PHOTO, 3, 256, 1)
    with pytest.raises(FileNotFoundError, match='--image'):
        check_images(str(INPUTS / 'missing.png'), 3, 16, 1)


def test_output_names():
    assert ncnn_paths('models/my-model') == ('models/my-model.param', 'models/my-model.bin')
    assert ncnn_paths('models/my-model.param') == ('models/my-model.param', 'models/my-model.bin')
    assert ncnn_paths('models/realesrgan-x4plus.v2') == (
        'models/realesrgan-x4plus.v2.param',
        'models/realesrgan-x4plus.v2.bin',
    )
