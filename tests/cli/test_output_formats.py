"""Output formats of the image job: JPEG, PNG, WebP and TIFF round-trip shapes, dtypes, alpha and 16 bits."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.cli import image as cli
from realesrgan.fileio.formats import save_image, to_format_depth
from realesrgan.fileio.metadata import ImageMetadata
from realesrgan.zoo import save_checkpoint

SUFFIXES = ('.jpg', '.png', '.webp', '.tif')
KINDS = ('gray', 'bgr', 'bgra', 'gray16', 'bgr16', 'bgra16')
# JPEG has no alpha: the job writes such images as PNG (test_the_cli_writes_each_format)
CASES = [(suffix, kind) for suffix in SUFFIXES for kind in KINDS if not (suffix == '.jpg' and 'bgra' in kind)]


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory) -> str:
    """A tiny random x4 network: fast, and its outputs are not flat."""
    torch.manual_seed(0)
    path = str(tmp_path_factory.mktemp('weights') / 'small.pth')
    save_checkpoint(SRVGGNetCompact(num_feat=4, num_conv=1, upscale=4).eval().state_dict(), path, 'params')
    return path


def run(tmp_path: Path, checkpoint: str, *args) -> int:
    return cli.main(['--model_path', checkpoint, '--weights_dir', str(tmp_path / 'weights'), *map(str, args)])


def read(path: Path) -> np.ndarray:
    return cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_UNCHANGED)


def photo(height: int = 48, width: int = 64) -> np.ndarray:
    """A smooth BGR image with some texture (compresses like a photo, unlike noise)."""
    yy, xx = np.mgrid[:height, :width].astype(np.float32)
    planes = [127 + 100 * np.sin(xx / 7 + k) * np.cos(yy / 5 - k) for k in range(3)]
    return np.clip(np.dstack(planes), 0, 255).astype(np.uint8)


@pytest.mark.parametrize('suffix, kind', CASES)
def test_each_format_round_trips(tmp_path, suffix, kind):
    base = photo()
    img = {'gray': cv2.cvtColor(base, cv2.COLOR_BGR2GRAY), 'bgr': base}.get(kind[:-2] if '16' in kind else kind)
    if kind.startswith('bgra'):
        img = np.dstack([base, np.linspace(0, 255, base.shape[1], dtype=np.uint8)[None].repeat(base.shape[0], 0)])
    if kind.endswith('16'):
        img = img.astype(np.uint16) * 257 + 3
    alpha = kind.startswith('bgra')
    path = tmp_path / f'out{suffix}'
    stored, converted = to_format_depth(img, str(path))
    assert converted == (img.dtype == np.uint16 and suffix in ('.jpg', '.webp'))
    save_image(str(path), stored)
    back = read(path)
    if img.ndim == 2 and suffix == '.webp':  # WebP has no gray images: gray is stored as three equal channels
        assert back.shape == img.shape + (3,) and (back == back[:, :, :1]).all()
        back = back[:, :, 0]
    assert back.shape == img.shape
    assert back.dtype == (np.uint16 if img.dtype == np.uint16 and suffix in ('.png', '.tif') else np.uint8)
    if suffix != '.jpg':  # lossless (WebP too, without a quality, as OpenCV writes it)
        if alpha and suffix == '.webp':  # lossless WebP drops the colour under fully transparent pixels
            visible = stored[:, :, 3] > 0
            np.testing.assert_array_equal(back[visible], stored[visible])
        else:
            np.testing.assert_array_equal(back, stored)
    else:
        assert np.abs(back.astype(int) - stored.astype(int)).mean() < 3


def test_16_bit_to_8_bit_maps_the_full_range():
    img = np.array([[0, 257, 65535, 32896]], dtype=np.uint16)
    converted, changed = to_format_depth(img, 'x.jpg')
    assert changed and converted.dtype == np.uint8 and converted.tolist() == [[0, 1, 255, 128]]
    same, changed = to_format_depth(img, 'x.png')
    assert not changed and same is img


@pytest.mark.parametrize('suffix', ['.jpg', '.webp'])
def test_quality_changes_the_file_size_monotonically(tmp_path, suffix):
    img = cv2.resize(photo(), (256, 192), interpolation=cv2.INTER_CUBIC)
    sizes = []
    for quality in (10, 30, 50, 70, 90, 99):
        path = tmp_path / f'q{quality}{suffix}'
        save_image(str(path), img, quality)
        sizes.append(path.stat().st_size)
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    lossless = tmp_path / f'q100{suffix}'
    save_image(str(lossless), img, 100)
    if suffix == '.webp':  # 100 means lossless for WebP
        np.testing.assert_array_equal(read(lossless), img)


def test_defaults_are_the_originals_bytes(tmp_path):
    """Without a quality or metadata, the bytes are cv2.imencode's with no parameters, as the original writes."""
    img = photo()
    for suffix in SUFFIXES:
        path = tmp_path / f'out{suffix}'
        save_image(str(path), img)
        assert path.read_bytes() == cv2.imencode(suffix, img)[1].tobytes()


@pytest.mark.parametrize('suffix', ['.jpg', '.webp'])
@pytest.mark.parametrize('quality', [None, 60, 100])
def test_metadata_keeps_the_originals_pixels(tmp_path, suffix, quality):
    """With metadata Pillow writes the file: the pixels still equal OpenCV's at the same settings."""
    img = photo()
    with_metadata, plain = tmp_path / f'meta{suffix}', tmp_path / f'plain{suffix}'
    save_image(str(with_metadata), img, quality, ImageMetadata(icc_profile=b'not checked by the encoders' * 8))
    save_image(str(plain), img, quality)
    assert Image.open(with_metadata).info.get('icc_profile')
    np.testing.assert_array_equal(read(with_metadata), read(plain))
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    save_image(str(with_metadata), gray, quality, ImageMetadata(dpi=(300.0, 300.0), icc_profile=b'x' * 200))
    save_image(str(plain), gray, quality)
    np.testing.assert_array_equal(read(with_metadata), read(plain))


def test_16_bit_colour_keeps_16_bits_and_notes_the_metadata_left_out(tmp_path):
    img = photo().astype(np.uint16) * 257
    note = save_image(str(tmp_path / 'deep.png'), img, None, ImageMetadata(dpi=(72.0, 72.0)))
    assert 'not kept' in note
    assert read(tmp_path / 'deep.png').dtype == np.uint16
    gray = img[:, :, 0]
    assert save_image(str(tmp_path / 'gray.png'), gray, None, ImageMetadata(dpi=(72.0, 72.0))) is None
    np.testing.assert_array_equal(read(tmp_path / 'gray.png'), gray)
    assert Image.open(tmp_path / 'gray.png').info['dpi'][0] == pytest.approx(72, abs=0.01)


@pytest.mark.parametrize('ext', ['jpg', 'png', 'webp', 'tif'])
def test_the_cli_writes_each_format(tmp_path, checkpoint, ext):
    folder = tmp_path / 'in'
    folder.mkdir()
    cv2.imwrite(str(folder / 'rgb.png'), photo(12, 16))
    rgba = np.dstack([photo(12, 16), np.full((12, 16), 128, np.uint8)])
    cv2.imwrite(str(folder / 'alpha.png'), rgba)
    cv2.imwrite(str(folder / 'deep.png'), photo(12, 16).astype(np.uint16) * 257)
    assert run(tmp_path, checkpoint, '-i', folder, '-o', tmp_path / 'out', '--ext', ext, '--quality', 90) == 0
    out = tmp_path / 'out'
    suffix = f'.{ext}'
    assert read(out / f'rgb_out{suffix}').shape == (48, 64, 3)
    # alpha: kept in PNG, WebP and TIFF; JPEG has none, so the original's rule writes PNG
    alpha_suffix = '.png' if ext == 'jpg' else suffix
    assert read(out / f'alpha_out{alpha_suffix}').shape == (48, 64, 4)
    deep = read(out / f'deep_out{suffix}')
    assert deep.dtype == (np.uint16 if ext in ('png', 'tif') else np.uint8)


def test_the_cli_notes_16_bit_results_written_as_8_bit(tmp_path, checkpoint, capsys):
    folder = tmp_path / 'in'
    folder.mkdir()
    for name in ('a', 'b'):
        cv2.imwrite(str(folder / f'{name}.png'), photo(8, 8).astype(np.uint16) * 257)
    assert run(tmp_path, checkpoint, '-i', folder, '-o', tmp_path / 'out', '--ext', 'jpg') == 0
    captured = capsys.readouterr()
    assert (captured.out + captured.err).count('16-bit results are written as 8-bit') == 1  # once, not per image


@pytest.mark.parametrize(
    'args, message',
    [
        (['--quality', '0'], '--quality must be an integer from 1 to 100, got 0.'),
        (['--quality', '101'], '--quality must be an integer from 1 to 100, got 101.'),
        (['--ext', 'gif'], "--ext must be one of auto, jpg, png, webp, tif, got 'gif'."),
        (['--num_process_per_gpu', '0'], 'num_process_per_gpu must be at least 1, got 0'),
    ],
)
def test_bad_format_options_are_exit_2_with_the_flag_named(tmp_path, checkpoint, capsys, args, message):
    cv2.imwrite(str(tmp_path / 'a.png'), photo(8, 8))
    assert run(tmp_path, checkpoint, '-i', tmp_path / 'a.png', '-o', tmp_path / 'out', *args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_metadata_pillow_refuses_is_left_out_and_the_pixels_written(tmp_path):
    img = photo()
    note = save_image(str(tmp_path / 'big.jpg'), img, None, ImageMetadata(exif=b'Exif\x00\x00' + b'\x00' * 70000))
    assert 'left out' in note and 'EXIF data is too long' in note
    assert (tmp_path / 'big.jpg').read_bytes() == cv2.imencode('.jpg', img)[1].tobytes()
