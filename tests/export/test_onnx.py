"""ONNX export: dynamic axes really work, ONNX Runtime matches PyTorch, and the CLI verifies before it writes."""

import runpy
import sys

import numpy as np
import pytest
import torch
from helpers import REPO_ROOT, official_weights, read_sample

from realesrgan.export.parity import output_psnr, torch_forward
from realesrgan.zoo import build_arch, build_model_from_checkpoint

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')
from realesrgan.export.onnx import export_onnx, onnx_session, run_onnx  # noqa: E402


def photo(height: int, width: int) -> np.ndarray:
    """A crop of the astronaut photo, RGB float32 in [0, 1]."""
    return (
        np.ascontiguousarray(read_sample('astronaut.png')[16 : 16 + height, 24 : 24 + width, 2::-1], dtype=np.float32)
        / 255.0
    )


def dynamic_dims(path: str) -> list:
    graph = onnx.load(path).graph
    return [
        [dim.dim_param or dim.dim_value for dim in value.type.tensor_type.shape.dim]
        for value in (graph.input[0], graph.output[0])
    ]


@pytest.mark.weights
@pytest.mark.parametrize('name', ['RealESRGAN_x4plus_anime_6B', 'realesr-animevideov3'])
def test_official_model_on_onnx_runtime_matches_pytorch_on_two_sizes(name, tmp_path):
    model, info = build_model_from_checkpoint(official_weights(name))
    path = str(tmp_path / 'model.onnx')
    export_onnx(model, path)

    assert dynamic_dims(path) == [['batch', 3, 'height', 'width'], ['batch', 3, 'out_height', 'out_width']]
    session = onnx_session(path, num_threads=1)
    for height, width in ((24, 32), (36, 20)):
        image = photo(height, width)
        output = run_onnx(session, image)
        assert output.shape == (4 * height, 4 * width, 3)
        value = output_psnr(torch_forward(model, image), output)
        print(f'{name} {height}x{width}: ONNX Runtime vs PyTorch {value:.1f} dB')
        assert value >= 60


@pytest.mark.weights
def test_batch_axis_is_dynamic(tmp_path):
    model, _ = build_model_from_checkpoint(official_weights('realesr-animevideov3'))
    path = str(tmp_path / 'model.onnx')
    export_onnx(model, path)
    batch = np.stack([photo(16, 12), photo(16, 12)[::-1].copy()]).transpose(0, 3, 1, 2)
    output = onnx_session(path, num_threads=1).run(['output'], {'input': batch})[0]
    with torch.no_grad():
        expected = model(torch.from_numpy(batch)).numpy()
    assert output.shape == (2, 3, 64, 48)
    assert output_psnr(expected[1].transpose(1, 2, 0), output[1].transpose(1, 2, 0)) >= 60


def test_x2_rrdbnet_pixel_unshuffle_follows_the_input_size(tmp_path):
    torch.manual_seed(0)
    model = build_arch('RRDBNet', dict(num_in_ch=3, num_out_ch=3, num_feat=16, num_block=2, num_grow_ch=8, scale=2))
    path = str(tmp_path / 'x2.onnx')
    export_onnx(model, path)
    session = onnx_session(path, num_threads=1)
    for height, width in ((20, 12), (14, 30)):
        image = photo(height, width)
        output = run_onnx(session, image)
        assert output.shape == (2 * height, 2 * width, 3)
        assert output_psnr(torch_forward(model, image), output) >= 60


@pytest.mark.weights
def test_fp16_export_takes_half_input_and_stays_close(tmp_path):
    model, _ = build_model_from_checkpoint(official_weights('realesr-animevideov3'))
    path = str(tmp_path / 'fp16.onnx')
    export_onnx(model, path, fp16=True)
    session = onnx_session(path, num_threads=1)
    assert session.get_inputs()[0].type == 'tensor(float16)'
    assert next(model.parameters()).dtype == torch.float32  # the caller's model is left alone
    image = photo(32, 32)
    assert output_psnr(torch_forward(model, image), run_onnx(session, image)) >= 50


def test_dynamo_exporter_gives_the_same_function(tmp_path):
    pytest.importorskip('onnxscript')
    torch.manual_seed(0)
    model = build_arch('SRVGGNetCompact', dict(num_feat=8, num_conv=2, upscale=4, act_type='prelu'))
    path = str(tmp_path / 'dynamo.onnx')
    assert export_onnx(model, path, exporter='dynamo') == 18  # its default, written natively (no down-conversion)
    session = onnx_session(path, num_threads=1)
    for height, width in ((12, 8), (10, 18)):
        image = photo(height, width)
        assert output_psnr(torch_forward(model, image), run_onnx(session, image)) >= 60


def test_unknown_exporter_is_refused(tmp_path):
    with pytest.raises(ValueError, match="Unknown exporter 'tflite'; use one of torchscript, dynamo"):
        export_onnx(
            build_arch('SRVGGNetCompact', dict(num_feat=4, num_conv=1)), str(tmp_path / 'a.onnx'), exporter='tflite'
        )
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope='module')
def pytorch2onnx_main():
    """The CLI's main(), run in-process (a subprocess would pay the torch import again)."""
    return runpy.run_path(str(REPO_ROOT / 'scripts' / 'pytorch2onnx.py'), run_name='pytorch2onnx')['main']


def run_cli(main, monkeypatch, *arguments: str) -> int:
    monkeypatch.setattr(sys, 'argv', ['pytorch2onnx.py', *arguments])
    return main()


@pytest.mark.weights
def test_cli_exports_verifies_and_prints_psnr(tmp_path, monkeypatch, capsys, pytorch2onnx_main):
    output = tmp_path / 'animevideov3.onnx'
    status = run_cli(
        pytorch2onnx_main,
        monkeypatch,
        '--input',
        official_weights('realesr-animevideov3'),
        '--output',
        str(output),
        '--verify-size',
        '32',
    )
    printed = capsys.readouterr().out
    assert status == 0
    assert 'SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4' in printed
    values = [float(line.split(': ')[-1].split()[0]) for line in printed.splitlines() if line.startswith('PSNR')]
    assert len(values) == 2 and min(values) >= 60  # a random 32x24 and a 32x32 photo crop
    assert 'random 32x24' in printed and 'astronaut.png 32x32' in printed
    assert dynamic_dims(str(output))[0] == ['batch', 3, 'height', 'width']
    assert sorted(path.name for path in tmp_path.iterdir()) == ['animevideov3.onnx']


@pytest.mark.weights
def test_cli_below_the_psnr_threshold_exits_non_zero_and_writes_nothing(
    tmp_path, monkeypatch, capsys, pytorch2onnx_main
):
    output = tmp_path / 'model.onnx'
    status = run_cli(
        pytorch2onnx_main,
        monkeypatch,
        '--input',
        official_weights('realesr-animevideov3'),
        '--output',
        str(output),
        '--verify-size',
        '16',
        '--min-psnr',
        '1000',
    )
    assert status == 1
    assert 'ONNX Runtime differs from PyTorch' in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_refuses_an_output_it_cannot_write_before_the_work(tmp_path, monkeypatch, capsys, pytorch2onnx_main):
    (tmp_path / 'notes.pth').write_text('not weights')  # the output is checked first
    status = run_cli(pytorch2onnx_main, monkeypatch, '--input', str(tmp_path / 'notes.pth'), '--output', '/sys/x.onnx')
    err = capsys.readouterr().err
    assert status == 1 and err.startswith('error: --output: cannot write /sys/x.onnx') and 'Traceback' not in err


def test_cli_reports_a_bad_checkpoint_without_a_traceback(tmp_path, monkeypatch, capsys, pytorch2onnx_main):
    (tmp_path / 'notes.pth').write_text('not weights')
    status = run_cli(
        pytorch2onnx_main, monkeypatch, '--input', str(tmp_path / 'notes.pth'), '--output', str(tmp_path / 'out.onnx')
    )
    assert status == 1
    assert capsys.readouterr().err.startswith('error: ') and not (tmp_path / 'out.onnx').exists()
