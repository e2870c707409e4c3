"""Hostile input to the image CLI and RealESRGANer: each case ends in one line, the right exit code, no lost file."""

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.cli import image as cli
from realesrgan.fileio.atomic import remove_stale_partials
from realesrgan.inference import host_memory
from realesrgan.utils import RealESRGANer
from realesrgan.zoo import save_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[2]


def small_net() -> SRVGGNetCompact:
    torch.manual_seed(0)
    return SRVGGNetCompact(num_feat=4, num_conv=1, upscale=4).eval()


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp('weights') / 'small.pth')
    save_checkpoint(small_net().state_dict(), path, 'params')
    return path


def image(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)


def run(tmp_path, checkpoint, *args) -> int:
    return cli.main(['--model_path', checkpoint, '--weights_dir', str(tmp_path / 'weights'), *map(str, args)])


def test_two_inputs_with_one_output_name_are_refused_before_any_work(tmp_path, checkpoint, capsys):
    folder = tmp_path / 'in'
    folder.mkdir()
    cv2.imwrite(str(folder / 'a.png'), image(8, 8))
    cv2.imwrite(str(folder / 'a.jpg'), image(8, 8))
    assert run(tmp_path, checkpoint, '-i', folder, '-o', tmp_path / 'out', '--ext', 'png') == 2
    err = capsys.readouterr().err
    assert 'a.jpg' in err and 'a.png' in err and 'would both be written' in err
    assert not (tmp_path / 'out').exists()


def test_an_empty_suffix_into_the_input_folder_is_refused(tmp_path, checkpoint, capsys):
    folder = tmp_path / 'in'
    folder.mkdir()
    original = image(8, 8)
    cv2.imwrite(str(folder / 'a.png'), original)
    assert run(tmp_path, checkpoint, '-i', folder, '-o', folder, '--suffix', '') == 2
    assert 'would overwrite the input' in capsys.readouterr().err
    assert np.array_equal(cv2.imread(str(folder / 'a.png')), original) and os.listdir(folder) == ['a.png']


def test_an_image_too_big_for_memory_fails_alone_and_the_batch_goes_on(tmp_path, checkpoint, capsys, monkeypatch):
    folder = tmp_path / 'in'
    folder.mkdir()
    cv2.imwrite(str(folder / 'big.png'), image(64, 64))
    cv2.imwrite(str(folder / 'small.png'), image(4, 4))
    monkeypatch.setattr(host_memory, 'available_memory', lambda: 2**19)  # 512 KiB: 4x4 at x4 fits, 64x64 not
    assert run(tmp_path, checkpoint, '-i', folder, '-o', tmp_path / 'out') == 1
    printed = capsys.readouterr()
    assert 'Failed' in printed.err + printed.out and 'GiB of memory' in printed.out
    assert os.listdir(tmp_path / 'out') == ['small_out.png']
    assert 'Traceback' not in printed.err + printed.out


@pytest.mark.parametrize(
    'args, message',
    [
        (('-s', 'inf'), '--outscale must be positive and finite, got inf'),
        (('-s', 'nan'), '--outscale must be positive and finite'),
        (('--alpha_upsampler', 'bogus'), '--alpha_upsampler must be one of realesrgan, bicubic'),
        (('--precision', 'fp8'), "--precision: Unknown precision 'fp8'"),
        (('--max_pixels', '-1'), '--max_pixels must be a non-negative integer'),
    ],
)
def test_bad_settings_are_exit_2_with_the_flag_named(tmp_path, checkpoint, capsys, args, message):
    path = tmp_path / 'a.png'
    cv2.imwrite(str(path), image(8, 8))
    assert run(tmp_path, checkpoint, '-i', path, '-o', tmp_path / 'out', *args) == 2
    err = capsys.readouterr().err
    assert message in err and 'Traceback' not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize('kind', ['devnull', 'fifo'])
def test_input_that_is_neither_file_nor_folder(tmp_path, checkpoint, capsys, kind):
    path = '/dev/null' if kind == 'devnull' else str(tmp_path / 'pipe')
    if kind == 'fifo':
        os.mkfifo(path)
    assert run(tmp_path, checkpoint, '-i', path, '-o', tmp_path / 'out') == 2
    assert 'neither an image file nor a folder' in capsys.readouterr().err


def test_weights_dir_that_is_a_file_names_the_flag(tmp_path, checkpoint, capsys):
    path = tmp_path / 'a.png'
    cv2.imwrite(str(path), image(8, 8))
    blocker = tmp_path / 'blocker'
    blocker.write_text('not a folder')
    assert cli.main(['-i', str(path), '-o', str(tmp_path / 'out'), '--model_dir', str(blocker)]) == 2
    err = capsys.readouterr().err
    assert '--weights_dir' in err and 'is a file, not a folder' in err and 'Errno' not in err


def test_max_pixels_refuses_larger_images_with_a_reason(tmp_path, checkpoint, capsys):
    path = tmp_path / 'a.png'
    cv2.imwrite(str(path), image(16, 16))
    assert run(tmp_path, checkpoint, '-i', path, '-o', tmp_path / 'out', '--max_pixels', 100) == 1
    assert '16x16 is 256 pixels, more than the limit of 100' in capsys.readouterr().out


def test_float_images_in_unit_range_are_scaled_not_black():
    upsampler = RealESRGANer(4, None, model=small_net(), pre_pad=0, device='cpu')
    img = image(12, 10)
    expected, _ = upsampler.enhance(img)
    output, _ = upsampler.enhance(img.astype(np.float32) / 255.0)
    assert output.dtype == np.uint8 and output.mean() > 20
    assert np.abs(output.astype(int) - expected.astype(int)).max() <= 1


def test_nan_in_the_image_or_the_weights_is_reported():
    upsampler = RealESRGANer(4, None, model=small_net(), pre_pad=0, device='cpu')
    img = image(8, 8).astype(np.float32)
    img[2, 3, 1] = np.nan
    with pytest.raises(ValueError, match='NaN or infinite values'):
        upsampler.enhance(img)
    broken = small_net()
    with torch.no_grad():
        broken.body[0].weight[0, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='even in fp32: its weights are broken'):
        RealESRGANer(4, None, model=broken, pre_pad=0, device='cpu').enhance(image(8, 8))


def test_negative_stride_arrays_are_accepted():
    upsampler = RealESRGANer(4, None, model=small_net(), pre_pad=0, device='cpu')
    rgb = image(9, 7)
    flipped = rgb[:, :, ::-1]
    assert np.array_equal(upsampler.enhance(flipped)[0], upsampler.enhance(np.ascontiguousarray(flipped))[0])


@pytest.mark.subprocess
def test_stale_partial_files_of_dead_writers_are_removed(tmp_path, checkpoint):
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'], capture_output=True, text=True)
    out = tmp_path / 'out'
    out.mkdir()
    stale = out / f'.a_out.png.{int(dead.stdout)}.0123abcd.partial.png'
    alive = out / f'.b_out.png.{os.getpid()}.0123abcd.partial.png'
    stale.write_bytes(b'half an image')
    alive.write_bytes(b'being written')
    path = tmp_path / 'a.png'
    cv2.imwrite(str(path), image(8, 8))
    assert run(tmp_path, checkpoint, '-i', path, '-o', out) == 0
    assert sorted(os.listdir(out)) == sorted(['a_out.png', alive.name])
    assert remove_stale_partials(str(out)) == []
