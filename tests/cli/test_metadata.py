"""Metadata through the image job: EXIF (Orientation, camera, GPS), the ICC profile, PNG text and DPI."""

import io
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import piexif
import pytest
import torch
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from realesrgan import RealESRGANer
from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.cli import image as cli
from realesrgan.fileio.metadata import ImageMetadata, read_metadata
from realesrgan.zoo import save_checkpoint

WIDTH, HEIGHT = 24, 16
GPS_LATITUDE = ((52, 1), (31, 1), (1250, 100))


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory) -> str:
    torch.manual_seed(0)
    path = str(tmp_path_factory.mktemp('weights') / 'small.pth')
    save_checkpoint(SRVGGNetCompact(num_feat=4, num_conv=1, upscale=4).eval().state_dict(), path, 'params')
    return path


@pytest.fixture(scope='module')
def icc_profile() -> bytes:
    """A real sRGB profile made by LittleCMS (through Pillow)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile('sRGB')).tobytes()


def pixels() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def camera_exif() -> bytes:
    """EXIF as a camera writes it: Orientation 6, make and model, a GPS position, pixel sizes, a thumbnail."""
    thumbnail = Image.new('RGB', (8, 6), (200, 10, 10))
    buffer = io.BytesIO()
    thumbnail.save(buffer, 'JPEG')
    return piexif.dump(
        {
            '0th': {
                piexif.ImageIFD.Make: b'TestCam',
                piexif.ImageIFD.Model: b'Model 1',
                piexif.ImageIFD.Orientation: 6,
                piexif.ImageIFD.XResolution: (72, 1),
                piexif.ImageIFD.YResolution: (72, 1),
                piexif.ImageIFD.ResolutionUnit: 2,
            },
            'Exif': {
                piexif.ExifIFD.DateTimeOriginal: b'2024:05:06 07:08:09',
                piexif.ExifIFD.PixelXDimension: WIDTH,
                piexif.ExifIFD.PixelYDimension: HEIGHT,
            },
            'GPS': {piexif.GPSIFD.GPSLatitudeRef: b'N', piexif.GPSIFD.GPSLatitude: GPS_LATITUDE},
            '1st': {piexif.ImageIFD.JPEGInterchangeFormat: 0, piexif.ImageIFD.JPEGInterchangeFormatLength: 0},
            'thumbnail': buffer.getvalue(),
        }
    )


@pytest.fixture
def inputs(tmp_path, icc_profile) -> Path:
    """A JPEG with camera EXIF and an ICC profile, and a PNG with an ICC profile, text chunks and DPI."""
    folder = tmp_path / 'in'
    folder.mkdir()
    rgb = pixels()[:, :, ::-1]
    Image.fromarray(rgb).save(folder / 'photo.jpg', quality=92, exif=camera_exif(), icc_profile=icc_profile)
    text = PngImagePlugin.PngInfo()
    text.add_text('Title', 'A test picture')
    text.add_itxt('Description', 'Übersetzung', 'de', 'Beschreibung')
    Image.fromarray(rgb).save(folder / 'drawing.png', pnginfo=text, icc_profile=icc_profile, dpi=(300, 300))
    return folder


def run(tmp_path: Path, checkpoint: str, *args) -> int:
    return cli.main(['--model_path', checkpoint, '--weights_dir', str(tmp_path / 'weights'), *map(str, args)])


def exif_of(path: Path) -> dict:
    return piexif.load(Image.open(path).info.get('exif', b''))


def test_the_input_exif_is_what_a_camera_writes(inputs):
    exif = exif_of(inputs / 'photo.jpg')
    assert exif['thumbnail'] and exif['0th'][piexif.ImageIFD.Orientation] == 6


def test_jpeg_keeps_exif_with_new_dimensions_and_the_icc_profile(tmp_path, checkpoint, inputs, icc_profile):
    assert run(tmp_path, checkpoint, '-i', inputs, '-o', tmp_path / 'out') == 0
    output = tmp_path / 'out' / 'photo_out.jpg'
    before, after = exif_of(inputs / 'photo.jpg'), exif_of(output)
    # pixels are not rotated: the stored size is 4x the input's, and the Orientation tag says how to show them
    assert Image.open(output).size == (4 * WIDTH, 4 * HEIGHT)
    assert after['0th'][piexif.ImageIFD.Orientation] == 6
    for tag in (piexif.ImageIFD.Make, piexif.ImageIFD.Model, piexif.ImageIFD.ResolutionUnit):
        assert after['0th'][tag] == before['0th'][tag]
    assert after['Exif'][piexif.ExifIFD.DateTimeOriginal] == b'2024:05:06 07:08:09'
    # the same values (Pillow writes rationals in lowest terms: 1250/100 as 25/2)
    assert [Fraction(*part) for part in after['GPS'][piexif.GPSIFD.GPSLatitude]] == [
        Fraction(*part) for part in GPS_LATITUDE
    ]
    assert after['GPS'][piexif.GPSIFD.GPSLatitudeRef] == b'N'
    # updated: the pixel dimensions (the output's), the resolution (same printed size), the thumbnail (dropped)
    assert (after['Exif'][piexif.ExifIFD.PixelXDimension], after['Exif'][piexif.ExifIFD.PixelYDimension]) == (
        4 * WIDTH,
        4 * HEIGHT,
    )
    resolution = after['0th'][piexif.ImageIFD.XResolution]
    assert resolution[0] / resolution[1] == 4 * 72
    assert after['thumbnail'] is None and not after['1st']
    assert Image.open(output).info['icc_profile'] == icc_profile  # byte for byte


def test_png_keeps_its_icc_profile_text_and_scaled_dpi(tmp_path, checkpoint, inputs, icc_profile):
    assert run(tmp_path, checkpoint, '-i', inputs, '-o', tmp_path / 'out', '-s', 2) == 0
    output = Image.open(tmp_path / 'out' / 'drawing_out.png')
    assert output.size == (2 * WIDTH, 2 * HEIGHT)
    assert output.info['icc_profile'] == icc_profile
    assert output.text == {'Title': 'A test picture', 'Description': 'Übersetzung'}
    international = output.text['Description']
    assert (international.lang, international.tkey) == ('de', 'Beschreibung')
    assert output.info['dpi'] == pytest.approx((600, 600), abs=0.01)


def test_strip_metadata_writes_none_of_it(tmp_path, checkpoint, inputs):
    assert run(tmp_path, checkpoint, '-i', inputs, '-o', tmp_path / 'out', '--strip_metadata') == 0
    for name in ('photo_out.jpg', 'drawing_out.png'):
        output = Image.open(tmp_path / 'out' / name)
        assert 'exif' not in output.info and 'icc_profile' not in output.info and not len(output.getexif())
        assert not getattr(output, 'text', {})
        assert not read_metadata(str(tmp_path / 'out' / name))


def test_stripped_outputs_are_the_originals_bytes(tmp_path, checkpoint, inputs):
    """No metadata to write: the file is cv2.imencode's of the library's output, byte for byte, as the original's."""
    assert run(tmp_path, checkpoint, '-i', inputs, '-o', tmp_path / 'out', '--strip_metadata') == 0
    kept = tmp_path / 'kept'
    assert run(tmp_path, checkpoint, '-i', inputs, '-o', kept) == 0
    upsampler = RealESRGANer(
        4,
        checkpoint,
        model=SRVGGNetCompact(num_feat=4, num_conv=1, upscale=4),
        pre_pad=0,
        device='cpu',
        precision='auto',  # the CLI's default (bf16 on CPUs where it is faster)
    )
    for name in ('photo', 'drawing'):
        source = next(inputs.glob(f'{name}.*'))
        expected = upsampler.enhance(cv2.imread(str(source), cv2.IMREAD_UNCHANGED))[0]
        output = tmp_path / 'out' / f'{name}_out{source.suffix}'
        assert output.read_bytes() == cv2.imencode(source.suffix, expected)[1].tobytes()
        # with its metadata, the output has the same pixels
        with_metadata = cv2.imread(str(kept / output.name), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(with_metadata, cv2.imread(str(output), cv2.IMREAD_UNCHANGED))


@pytest.mark.parametrize('ext', ['png', 'webp', 'tif'])
def test_metadata_crosses_formats(tmp_path, checkpoint, inputs, icc_profile, ext):
    assert run(tmp_path, checkpoint, '-i', inputs / 'photo.jpg', '-o', tmp_path / 'out', '--ext', ext) == 0
    output = tmp_path / 'out' / f'photo_out.{ext}'
    assert Image.open(output).info['icc_profile'] == icc_profile
    exif = Image.open(output).getexif()
    assert exif[ExifTags.Base.Orientation] == 6 and exif[ExifTags.Base.Make] == 'TestCam'
    assert exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == 'N'


def test_tiff_structure_tags_are_not_copied(tmp_path, icc_profile):
    """A TIFF's own storage tags (strips, compression) describe its file, not the picture."""
    path = tmp_path / 'scan.tif'
    Image.fromarray(pixels()).save(path, compression='tiff_lzw', icc_profile=icc_profile, dpi=(600, 600))
    metadata = read_metadata(str(path))
    assert metadata.icc_profile == icc_profile and metadata.dpi == pytest.approx((600, 600))
    exif = Image.Exif()
    exif.load(metadata.exif)
    assert not {273, 279, 259, 258, 34675} & set(exif)  # StripOffsets, StripByteCounts, Compression, ...
    resized = Image.Exif()
    resized.load(metadata.for_output(96, 64, 4).exif)
    assert (resized[256], resized[257]) == (96, 64) and float(resized[282]) == pytest.approx(2400)


def test_unreadable_metadata_is_a_note_not_a_failure(tmp_path, checkpoint, capsys, monkeypatch):
    cv2.imwrite(str(tmp_path / 'a.png'), pixels())

    def broken(path: str) -> ImageMetadata:
        raise SyntaxError('broken PNG chunk')

    monkeypatch.setattr('realesrgan.batch.image_task.read_metadata', broken)
    assert run(tmp_path, checkpoint, '-i', tmp_path / 'a.png', '-o', tmp_path / 'out') == 0
    assert 'metadata of some inputs could not be read' in capsys.readouterr().out
    assert (tmp_path / 'out' / 'a_out.png').is_file()


def damaged_exif_jpeg(path: Path) -> Path:
    """A JPEG whose EXIF block declares a first entry far longer than the block (Pillow: 'Truncated File Read')."""
    exif = Image.Exif()
    exif[0x010F] = 'realesrgan test camera'  # Make
    buffer = io.BytesIO()
    Image.fromarray(pixels()).save(buffer, 'JPEG', exif=exif.tobytes())
    data = bytearray(buffer.getvalue())
    tiff = data.index(b'Exif\x00\x00') + 6
    order = 'little' if data[tiff : tiff + 2] == b'II' else 'big'
    first_ifd = tiff + int.from_bytes(data[tiff + 4 : tiff + 8], order)
    data[first_ifd + 6 : first_ifd + 10] = (100000).to_bytes(4, order)  # the count of the first entry
    path.write_bytes(bytes(data))
    return path


def test_a_damaged_exif_block_is_the_one_line_note_not_pillows_warning(tmp_path, checkpoint, capsys):
    import warnings

    source = damaged_exif_jpeg(tmp_path / 'damaged.jpg')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert run(tmp_path, checkpoint, '-i', source, '-o', tmp_path / 'out') == 0
    assert [str(one.message) for one in caught if issubclass(one.category, UserWarning)] == []
    assert 'Note: the metadata of some inputs could not be read' in capsys.readouterr().out
    assert (tmp_path / 'out' / 'damaged_out.jpg').is_file()
    with pytest.raises(ValueError, match='metadata is damaged'):
        read_metadata(str(source))
