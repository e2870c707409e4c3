"""scripts/pytorch2ncnn.py: its messages, exit statuses and files (run in-process: a subprocess pays torch's import)."""

import os
import re
import runpy
import sys

import pytest
import torch
from helpers import REPO_ROOT, WEIGHTS_DIR

import realesrgan  # noqa: F401
from realesrgan.zoo import ArchInfo, convert_ncnn

pytest.importorskip('ncnn')


@pytest.fixture(scope='module')
def pytorch2ncnn_main():
    return runpy.run_path(str(REPO_ROOT / 'scripts' / 'pytorch2ncnn.py'), run_name='pytorch2ncnn')['main']


@pytest.fixture
def run(pytorch2ncnn_main, monkeypatch, capsys):
    """Run the script with these arguments; returns (exit status, stdout, stderr)."""

    def call(*args):
        monkeypatch.setattr(sys, 'argv', ['pytorch2ncnn.py', *map(str, args)])
        status = pytorch2ncnn_main()
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return call


def psnrs(printed: str) -> list:
    return [float(value) for value in re.findall(r'PSNR ncnn runtime vs PyTorch, .*: ([\d.]+|inf) dB', printed)]


@pytest.mark.weights
def test_official_model_name_x3_variant(tmp_path, run):
    status, out, err = run(
        '--input', 'realesr-animevideov3-x3', '--output', tmp_path / 'models' / 'av3-x3', '--offline',
        '--weights-dir', WEIGHTS_DIR, '--check-size', 16,
    )  # fmt: skip
    assert status == 0, err
    assert len(psnrs(out)) == 4 and min(psnrs(out)) >= 45
    assert 'float16 weights, x4 network, then a bicubic resize by 0.75 = output scale 3' in out
    assert f'-m {tmp_path / "models"} -n av3-x3 -s 3' in out and 'lacks "models"' not in out
    assert sorted(os.listdir(tmp_path / 'models')) == ['av3-x3.bin', 'av3-x3.param']
    assert (
        convert_ncnn(str(tmp_path / 'models' / 'av3-x3.param'), str(tmp_path / 'models' / 'av3-x3.bin')).outscale == 3
    )


def test_training_checkpoint_fp32_x2_rrdbnet(tmp_path, run):
    info = ArchInfo('RRDBNet', dict(num_in_ch=3, num_out_ch=3, num_feat=8, num_block=1, num_grow_ch=4, scale=2), 2)
    torch.manual_seed(0)
    weights = info.build().state_dict()
    torch.save({'params': weights, 'params_ema': weights}, tmp_path / 'net_g_1000.pth')
    status, out, err = run(
        '--input', tmp_path / 'net_g_1000.pth', '--output', tmp_path / 'x2', '--fp32', '--check-size', 20
    )
    assert status == 0, err
    assert 'RRDBNet(' in out and 'scale=2), x2' in out
    assert min(psnrs(out)) >= 60
    assert 'float32 weights, x2 network = output scale 2' in out and '-s 2' in out
    assert 'lacks "models"' in out  # realesrgan-ncnn-vulkan's folder rule
    assert convert_ncnn(str(tmp_path / 'x2.param'), str(tmp_path / 'x2.bin')).info == info


def test_bad_inputs_exit_2_with_one_line(tmp_path, run):
    status, _, err = run('--input', 'no-such-model', '--output', tmp_path / 'm')
    assert status == 2 and '--input no-such-model not found: give a checkpoint file or an official model name' in err
    assert 'Traceback' not in err

    status, _, err = run(
        '--input', 'RealESRGAN_x2plus', '--output', tmp_path / 'm', '--offline', '--weights-dir', tmp_path
    )
    assert status == 2 and 'No weights found for RealESRGAN_x2plus' in err

    (tmp_path / 'not_a_checkpoint.pth').write_bytes(b'hello')
    status, _, err = run('--input', tmp_path / 'not_a_checkpoint.pth', '--output', tmp_path / 'm')
    assert status == 2 and 'not a PyTorch checkpoint' in err

    info = ArchInfo('SRVGGNetCompact', dict(num_in_ch=3, num_out_ch=3, num_feat=4, num_conv=1, upscale=4), 4)
    torch.save({'params': info.build().state_dict()}, tmp_path / 'small.pth')
    status, _, err = run('--input', tmp_path / 'small.pth', '--output', tmp_path / 'm', '--outscale', 3.5)
    assert status == 2 and '--outscale 3.5 does not fit an x4 network' in err
    status, _, err = run('--input', tmp_path / 'small.pth', '--output', tmp_path / 'm', '--image', tmp_path / 'x.png')
    assert status == 2 and 'Cannot read the check image' in err
    assert not any(name.startswith('m') for name in os.listdir(tmp_path))


def test_a_missing_file_named_like_an_official_model_says_not_found_with_the_name_to_give(tmp_path, run):
    status, _, err = run('--input', tmp_path / 'weights' / 'RealESRGAN_x2plus.pth', '--output', tmp_path / 'm')
    assert status == 2 and err.startswith('error: ') and len(err.strip().splitlines()) == 1
    hint = 'RealESRGAN_x2plus is an official model: give --input RealESRGAN_x2plus'
    assert f'RealESRGAN_x2plus.pth not found; {hint}' in err


def test_an_output_that_cannot_be_written_is_refused_before_the_work(tmp_path, run):
    info = ArchInfo('SRVGGNetCompact', dict(num_in_ch=3, num_out_ch=3, num_feat=4, num_conv=1, upscale=4), 4)
    torch.save({'params': info.build().state_dict()}, tmp_path / 'small.pth')
    status, out, err = run('--input', tmp_path / 'small.pth', '--output', '/sys/realesrgan-test/m')
    assert status == 2 and err.startswith('error: --output: cannot write /sys/realesrgan-test/m.param')
    assert 'Traceback' not in err and 'PSNR' not in out  # refused before the export ran


def test_a_spandrel_only_model_is_refused_clearly(tmp_path, run):
    pytest.importorskip('spandrel')
    from helpers import community_state_dict

    torch.save(community_state_dict('SPAN'), tmp_path / 'span.pth')
    status, _, err = run('--input', tmp_path / 'span.pth', '--output', tmp_path / 'm')
    assert status == 2 and 'loaded through spandrel; the ncnn export covers RRDBNet' in err
    assert 'KeyError' not in err and not any(name.startswith('m') for name in os.listdir(tmp_path))


def test_below_min_psnr_nothing_is_written_and_status_1(tmp_path, run):
    info = ArchInfo('SRVGGNetCompact', dict(num_in_ch=3, num_out_ch=3, num_feat=4, num_conv=1, upscale=4), 4)
    torch.save({'params': info.build().state_dict()}, tmp_path / 'small.pth')
    status, out, err = run('--input', tmp_path / 'small.pth', '--output', tmp_path / 'out' / 'm', '--min-psnr', 1000)
    assert status == 1 and 'differs from PyTorch' in err and 'nothing was written' in err
    assert len(psnrs(out)) == 4  # the measurements are still shown
    assert os.listdir(tmp_path / 'out') == []
