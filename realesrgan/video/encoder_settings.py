"""How the video is encoded: the codec, its quality, speed and pixel format, and the container (no PyAV needed).

The output container follows the output file's extension (:data:`CONTAINERS`); the codec is one of
:data:`CODECS`, each with the containers that can hold it, its quality scale (what ``--crf`` means for it) and
default, and its pixel formats. An impossible combination (ProRes in WebM) is refused here, before any work,
with a one-line reason.
"""

import os
from dataclasses import dataclass, replace
from typing import Dict, Optional, Tuple

__all__ = [
    'CODECS',
    'CONTAINERS',
    'DEFAULT_CRF',
    'PIXEL_FORMATS',
    'X264_PRESETS',
    'EncoderSettings',
    'VideoCodec',
    'check_container',
    'container_of',
]

# output file extension -> FFmpeg's muxer
CONTAINERS: Dict[str, str] = {'mp4': 'mp4', 'mkv': 'matroska', 'mov': 'mov', 'webm': 'webm'}
PIXEL_FORMATS = ('auto', 'yuv420p', 'yuv444p', 'yuv420p10le', 'yuv422p10le', 'yuv444p10le')
X264_PRESETS = (
    'ultrafast',
    'superfast',
    'veryfast',
    'faster',
    'fast',
    'medium',
    'slow',
    'slower',
    'veryslow',
    'placebo',
)
DEFAULT_CRF = 23  # x264's own default: visually good; 0 is lossless (up to the RGB/YUV conversion)


@dataclass(frozen=True)
class VideoCodec:
    """One ``--codec`` choice.

    Attributes:
        name: The ``--codec`` value.
        encoder: FFmpeg's encoder (as PyAV names it).
        containers: Extensions of the containers that can hold it.
        quality: What ``--crf`` sets for it, for the help and the errors (``None``: lossless, no ``--crf``).
        default_quality: ``--crf`` when it is not given (``None``: the encoder's own rate control).
        quality_range: Lowest (best) and highest ``--crf``.
        pixel_formats: Pixel formats it can write; the first is what ``auto`` gives 8-bit input.
        auto_high_depth: What ``auto`` gives input of more than 8 bits (10-bit video).
    """

    name: str
    encoder: str
    containers: Tuple[str, ...]
    quality: Optional[str]
    default_quality: Optional[float]
    quality_range: Tuple[float, float]
    pixel_formats: Tuple[str, ...]
    auto_high_depth: str


_X26X_FORMATS = ('yuv420p', 'yuv444p', 'yuv420p10le', 'yuv444p10le')
CODECS: Dict[str, VideoCodec] = {
    codec.name: codec
    for codec in (
        VideoCodec(
            'h264', 'libx264', ('mp4', 'mkv', 'mov'), 'x264 CRF', DEFAULT_CRF, (0, 51), _X26X_FORMATS, 'yuv420p'
        ),
        VideoCodec('h265', 'libx265', ('mp4', 'mkv', 'mov'), 'x265 CRF', 28, (0, 51), _X26X_FORMATS, 'yuv420p10le'),
        VideoCodec(
            'av1',
            'libsvtav1',
            ('mp4', 'mkv', 'webm'),
            'SVT-AV1 CRF',
            35,
            (1, 63),
            ('yuv420p', 'yuv420p10le'),
            'yuv420p10le',
        ),
        VideoCodec(
            'vp9',
            'libvpx-vp9',
            ('mp4', 'mkv', 'webm'),
            'VP9 CRF',
            31,
            (0, 63),
            ('yuv420p', 'yuv444p', 'yuv420p10le'),
            'yuv420p10le',
        ),
        VideoCodec(
            'prores',
            'prores_ks',
            ('mov', 'mkv'),
            'ProRes qscale',
            None,
            (1, 31),
            ('yuv422p10le', 'yuv444p10le'),
            'yuv422p10le',
        ),
        VideoCodec('ffv1', 'ffv1', ('mkv', 'mp4'), None, None, (0, 0), _X26X_FORMATS, 'yuv420p10le'),
    )
}


def container_of(path: str) -> str:
    """The container of an output file, from its extension (``'mp4'``, ``'mkv'``, ``'mov'`` or ``'webm'``).

    Raises:
        ValueError: Another extension (one line naming the ones there are).
    """
    extension = os.path.splitext(path)[1].lower().lstrip('.')
    if extension not in CONTAINERS:
        raise ValueError(
            f'cannot write {os.path.basename(path)}: the output must end in {", ".join("." + e for e in CONTAINERS)}'
        )
    return extension


def check_container(codec: str, container: str) -> None:
    """Refuse a codec that the container cannot hold.

    Raises:
        ValueError: One line: what cannot go together, and the containers that would take the codec.
    """
    containers = CODECS[codec].containers
    if container not in containers:
        raise ValueError(
            f'{container.upper()} (.{container}) cannot hold {codec} video; use '
            f'{" or ".join("." + c for c in containers)} for {codec}, or another --codec'
        )


@dataclass(frozen=True)
class EncoderSettings:
    """How segments are encoded (the same for every segment, so that they join into one stream).

    Attributes:
        crf: Quality on the codec's own scale (see :data:`CODECS`; lower is better); ``None`` for the codec's
            default. For h264: 0 is lossless, 23 the default.
        preset: Speed preset in x264's names (``ultrafast`` ... ``veryslow``): slower gives smaller files; x265
            takes the same names, AV1 and VP9 get the matching speed of their encoders.
        pix_fmt: Pixel format, or ``auto``: the codec's 8-bit format for 8-bit input, its 10-bit one for 10-bit
            input (h264 stays 8-bit, ProRes is always 10-bit). ``yuv420p`` plays everywhere (even sizes).
        codec: One of :data:`CODECS`.
    """

    crf: Optional[float] = None
    preset: str = 'medium'
    pix_fmt: str = 'auto'
    codec: str = 'h264'

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise ValueError(f'codec must be one of {", ".join(CODECS)}, got {self.codec}')
        spec = CODECS[self.codec]
        if self.crf is not None:
            low, high = spec.quality_range
            if spec.quality is None:
                if self.crf != 0:
                    raise ValueError(f'{self.codec} is lossless: --crf does not apply to it (leave it out)')
            elif not low <= self.crf <= high:
                best = 'lossless' if self.codec == 'h264' else 'best'
                raise ValueError(
                    f'crf must be between {low:g} ({best}) and {high:g} for {self.codec} ({spec.quality}), '
                    f'got {self.crf:g}'
                )
        if self.preset not in X264_PRESETS:
            raise ValueError(f'preset must be one of {", ".join(X264_PRESETS)}, got {self.preset}')
        if self.pix_fmt not in PIXEL_FORMATS:
            raise ValueError(f'pix_fmt must be one of {", ".join(PIXEL_FORMATS)}, got {self.pix_fmt}')
        if self.pix_fmt != 'auto' and self.pix_fmt not in spec.pixel_formats:
            raise ValueError(
                f'{self.codec} cannot write {self.pix_fmt}; use {" or ".join(spec.pixel_formats)} (or auto)'
            )

    @property
    def spec(self) -> VideoCodec:
        """The codec's entry of :data:`CODECS`."""
        return CODECS[self.codec]

    @property
    def quality(self) -> Optional[float]:
        """``crf``, or the codec's default when it was not given (``None``: the encoder's own rate control)."""
        return self.spec.default_quality if self.crf is None else self.crf

    def for_input(self, bits_per_sample: int) -> 'EncoderSettings':
        """These settings with ``auto`` replaced by the pixel format for input of that depth.

        Args:
            bits_per_sample: Bits per colour sample of the input (8 for most video, 10 for HDR).
        """
        if self.pix_fmt != 'auto':
            return self
        spec = self.spec
        return replace(self, pix_fmt=spec.auto_high_depth if bits_per_sample > 8 else spec.pixel_formats[0])

    @property
    def high_depth(self) -> bool:
        """Whether the pixel format has more than 8 bits per sample."""
        return self.pix_fmt.endswith('10le')
