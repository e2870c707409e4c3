"""How the video is encoded: x264's quality, speed and pixel format, checked (no PyAV needed to read them)."""

from dataclasses import dataclass

__all__ = ['DEFAULT_CRF', 'PIXEL_FORMATS', 'X264_PRESETS', 'EncoderSettings']

PIXEL_FORMATS = ('yuv420p', 'yuv444p')
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
class EncoderSettings:
    """How segments are encoded (the same for every segment, so that they join into one stream).

    Attributes:
        crf: x264 constant rate factor: 0 is lossless, 23 the default, higher is smaller and worse.
        preset: x264 speed preset (``ultrafast`` ... ``veryslow``): slower gives smaller files.
        pix_fmt: ``yuv420p`` (plays everywhere, even sizes) or ``yuv444p`` (full colour resolution).
    """

    crf: float = DEFAULT_CRF
    preset: str = 'medium'
    pix_fmt: str = 'yuv420p'

    def __post_init__(self) -> None:
        if not 0 <= self.crf <= 51:
            raise ValueError(f'crf must be between 0 (lossless) and 51, got {self.crf}')
        if self.preset not in X264_PRESETS:
            raise ValueError(f'preset must be one of {", ".join(X264_PRESETS)}, got {self.preset}')
        if self.pix_fmt not in PIXEL_FORMATS:
            raise ValueError(f'pix_fmt must be one of {", ".join(PIXEL_FORMATS)}, got {self.pix_fmt}')
