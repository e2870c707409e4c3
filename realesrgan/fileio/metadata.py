"""What an image file says besides its pixels: EXIF, the ICC colour profile, PNG text chunks and DPI, read by Pillow.

:func:`read_metadata` reads them from an input file (JPEG, PNG, WebP, TIFF; other formats have none here), and
:meth:`ImageMetadata.for_output` adapts them to an upscaled copy: the EXIF pixel-dimension tags give the output's
size, the resolution (DPI, and EXIF's X/YResolution) is multiplied by the scale so that the printed size stays
the same, the EXIF Orientation stays as it is (the pixels are not rotated), and the embedded thumbnail is dropped
(Pillow writes no thumbnail directory). The ICC profile and the text are kept byte for byte.
"""

import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Iterator, NamedTuple, Optional, Tuple

from PIL import ExifTags, Image, PngImagePlugin, TiffImagePlugin

__all__ = ['ImageMetadata', 'TextChunk', 'open_header', 'read_metadata']

# IFD0 tags that describe how a TIFF stores its pixels (or where a thumbnail is), not the picture: they are not
# carried over (the writer of the output sets its own), nor is the ICC profile tag (kept as icc_profile).
_STORAGE_TAGS = frozenset(
    {
        254,  # NewSubfileType
        255,  # SubfileType
        258,  # BitsPerSample
        259,  # Compression
        262,  # PhotometricInterpretation
        266,  # FillOrder
        273,  # StripOffsets
        277,  # SamplesPerPixel
        278,  # RowsPerStrip
        279,  # StripByteCounts
        284,  # PlanarConfiguration
        317,  # Predictor
        320,  # ColorMap
        322,  # TileWidth
        323,  # TileLength
        324,  # TileOffsets
        325,  # TileByteCounts
        330,  # SubIFDs
        338,  # ExtraSamples
        339,  # SampleFormat
        347,  # JPEGTables
        513,  # JPEGInterchangeFormat
        514,  # JPEGInterchangeFormatLength
        530,  # YCbCrSubSampling
        532,  # ReferenceBlackWhite
        34675,  # InterColorProfile
    }
)
_IMAGE_WIDTH, _IMAGE_LENGTH = 256, 257  # IFD0
_X_RESOLUTION, _Y_RESOLUTION = 282, 283  # IFD0
_PIXEL_X_DIMENSION, _PIXEL_Y_DIMENSION = 0xA002, 0xA003  # Exif IFD
_FORMATS = ('JPEG', 'MPO', 'PNG', 'WEBP', 'TIFF')


class TextChunk(NamedTuple):
    """One PNG text chunk: ``lang`` and ``translated_key`` are set for international (iTXt) ones."""

    key: str
    value: str
    lang: Optional[str] = None
    translated_key: Optional[str] = None


@dataclass(frozen=True)
class ImageMetadata:
    """The metadata of an image file.

    Attributes:
        exif: EXIF as Pillow writes it (``b'Exif\\x00\\x00'`` and a TIFF structure), without a thumbnail; empty
            for none.
        icc_profile: The ICC colour profile, byte for byte; empty for none.
        text: The PNG text chunks, in file order.
        dpi: Horizontal and vertical resolution in dots per inch, or None.
    """

    exif: bytes = b''
    icc_profile: bytes = b''
    text: Tuple[TextChunk, ...] = ()
    dpi: Optional[Tuple[float, float]] = None

    def __bool__(self) -> bool:
        return bool(self.exif or self.icc_profile or self.text or self.dpi)

    def for_output(self, width: int, height: int, scale: float) -> 'ImageMetadata':
        """The metadata of an upscaled copy: pixel dimensions of the output, resolution times ``scale``.

        Args:
            width: Output width in pixels.
            height: Output height in pixels.
            scale: Output size over input size.

        Returns:
            The adapted metadata (Orientation, ICC profile and text unchanged).
        """
        dpi = None if self.dpi is None else (self.dpi[0] * scale, self.dpi[1] * scale)
        return replace(self, exif=_resized_exif(self.exif, width, height, scale), dpi=dpi)

    def describe(self) -> str:
        """What is there, e.g. ``'EXIF, ICC profile, 2 text chunk(s), DPI'`` (empty when nothing)."""
        parts = [
            name
            for name, present in (('EXIF', self.exif), ('ICC profile', self.icc_profile), ('DPI', self.dpi))
            if present
        ]
        if self.text:
            parts.insert(2, f'{len(self.text)} text chunk(s)')
        return ', '.join(parts)


def _resized_exif(exif_bytes: bytes, width: int, height: int, scale: float) -> bytes:
    if not exif_bytes:
        return b''
    exif = Image.Exif()
    exif.load(exif_bytes)
    for tag, size in ((_IMAGE_WIDTH, width), (_IMAGE_LENGTH, height)):
        if tag in exif:
            exif[tag] = size
    for tag in (_X_RESOLUTION, _Y_RESOLUTION):
        if tag in exif:
            exif[tag] = TiffImagePlugin.IFDRational(float(exif[tag]) * scale)
    if ExifTags.IFD.Exif in exif:
        sub_ifd = exif.get_ifd(ExifTags.IFD.Exif)
        for tag, size in ((_PIXEL_X_DIMENSION, width), (_PIXEL_Y_DIMENSION, height)):
            if tag in sub_ifd:
                sub_ifd[tag] = size
    return exif.tobytes()


@contextmanager
def open_header(path: str) -> Iterator[Image.Image]:
    """``Image.open(path)`` with Pillow's warnings held back (a damaged EXIF block, a huge image).

    A damaged EXIF block makes Pillow print a raw ``UserWarning`` each time the file is opened; the image job
    reports it once, as its one-line note about unreadable metadata (see :func:`read_metadata`).
    """
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        warnings.simplefilter('ignore', Image.DecompressionBombWarning)
        with Image.open(path) as image:
            yield image


def read_metadata(path: str) -> ImageMetadata:
    """Read the metadata of an image file (Pillow reads the headers; PNG text after the pixels needs a decode).

    Args:
        path: The image file.

    Returns:
        The metadata; empty for formats other than JPEG, PNG, WebP and TIFF.

    Raises:
        OSError: Pillow cannot read the file (not an image it knows, damaged).
        ValueError: Its metadata is malformed or damaged (Pillow warned while reading it).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', UserWarning)
        warnings.simplefilter('ignore', Image.DecompressionBombWarning)
        metadata = _read_metadata(path)
    damaged = [str(warning.message) for warning in caught if issubclass(warning.category, UserWarning)]
    if damaged:
        raise ValueError(f'its metadata is damaged ({damaged[0]})')
    return metadata


def _read_metadata(path: str) -> ImageMetadata:
    with Image.open(path) as image:
        if image.format not in _FORMATS:
            return ImageMetadata()
        text = _text_chunks(image) if isinstance(image, PngImagePlugin.PngImageFile) else ()
        exif = image.getexif()
        for tag in _STORAGE_TAGS & set(exif):
            del exif[tag]
        dpi = image.info.get('dpi')
        return ImageMetadata(
            exif=exif.tobytes() if len(exif) else b'',
            icc_profile=image.info.get('icc_profile') or b'',
            text=text,
            dpi=(float(dpi[0]), float(dpi[1])) if dpi and dpi[0] and dpi[1] else None,
        )


def _text_chunks(image: PngImagePlugin.PngImageFile) -> Tuple[TextChunk, ...]:
    chunks = []
    for key, value in image.text.items():  # reads the chunks after the pixels too
        if isinstance(value, PngImagePlugin.iTXt):
            chunks.append(TextChunk(key, str(value), value.lang or '', value.tkey or ''))
        else:
            chunks.append(TextChunk(key, value))
    return tuple(chunks)
