"""Encoding upscaled frames into one segment file with PyAV (its wheel ships FFmpeg and the encoders).

Frames are converted to YUV as :mod:`realesrgan.video.color` describes, 8-bit frames (uint8) from ``bgr24`` and
16-bit ones (uint16, from 10-bit input) from ``bgr48le``, so the network's full precision reaches a 10-bit encoder.
Chroma-subsampled formats (``yuv420p``, ``yuv422p10le``) need an even width (and ``yuv420p`` an even height): an odd
size is padded by repeating the last column or row once, and the output is one pixel larger than
``input x outscale`` in that direction. The segment's stream carries the colour description and the sample aspect
ratio of the output; the joined file gets them from it.
"""

from fractions import Fraction
from typing import Any, Dict, Optional

import av
import cv2
import numpy as np

from realesrgan.video.color import CONVERSION_FLAGS, ColorTags, output_color
from realesrgan.video.encoder_settings import X264_PRESETS, EncoderSettings
from realesrgan.video.errors import VideoInputError
from realesrgan.video.x264 import repeatable_x264_params

__all__ = ['SegmentWriter', 'check_encoder', 'decode_time_shift', 'encoder_options', 'pad_to_even', 'segment_format']

# x264's preset names -> the speed settings of SVT-AV1 (--preset, 0 slowest) and libvpx-vp9 (cpu-used, 0 slowest)
_SVT_AV1_PRESETS = dict(zip(X264_PRESETS, (12, 11, 10, 9, 8, 7, 6, 4, 2, 0)))
_VP9_SPEEDS = dict(zip(X264_PRESETS, (8, 7, 6, 5, 4, 3, 2, 1, 0, 0)))
_FFMPEG_LAMBDA_PER_QP = 118  # FF_QP2LAMBDA: global_quality is a quantiser times this
# Frames an encoder may hold back before its first packet (B-frame pyramids, lookahead); a first packet whose decode
# time lies further before its presentation time than this was given no decode time
_MAX_DECODE_DELAY_FRAMES = 16


def x264_options(settings: EncoderSettings) -> Dict[str, str]:
    """Options for the libx264 encoder (repeatable: see :mod:`realesrgan.video.x264`)."""
    return {'crf': f'{settings.quality:g}', 'preset': settings.preset, **repeatable_x264_params()}


def encoder_options(settings: EncoderSettings) -> Dict[str, str]:
    """The encoder's options for these settings: its quality (``--crf`` or the codec's default) and speed."""
    quality = settings.quality
    if settings.codec == 'h264':
        return x264_options(settings)
    if settings.codec == 'h265':
        return {'crf': f'{quality:g}', 'preset': settings.preset, 'x265-params': 'log-level=error'}
    if settings.codec == 'av1':
        return {'crf': f'{quality:g}', 'preset': str(_SVT_AV1_PRESETS[settings.preset])}
    if settings.codec == 'vp9':
        speed = str(_VP9_SPEEDS[settings.preset])
        return {'crf': f'{quality:g}', 'b': '0', 'deadline': 'good', 'cpu-used': speed, 'row-mt': '1'}
    if settings.codec == 'prores':
        options = {'profile': 'hq' if settings.pix_fmt == 'yuv422p10le' else '4444'}
        if quality is not None:
            options.update(flags='+qscale', global_quality=str(round(quality * _FFMPEG_LAMBDA_PER_QP)))
        return options
    return {'level': '3', 'slicecrc': '1'}  # ffv1: lossless, version 3 with checksums


def segment_format(settings: EncoderSettings) -> str:
    """The container of segment files: MP4 (exact timestamps) where the codec fits in it, else QuickTime."""
    return 'mp4' if 'mp4' in settings.spec.containers else 'mov'


def check_encoder(settings: EncoderSettings) -> None:
    """Make sure this PyAV's FFmpeg has the encoder and can write the pixel format.

    Raises:
        VideoInputError: One line: what is missing and what to choose instead.
    """
    try:
        codec = av.codec.Codec(settings.spec.encoder, 'w')
    except av.error.FFmpegError:
        codec = None
    if codec is None:
        raise VideoInputError(
            f'the FFmpeg of this PyAV has no {settings.spec.encoder} encoder for --codec {settings.codec}; '
            'choose another --codec'
        )
    formats = [video_format.name for video_format in codec.video_formats or ()]
    if formats and settings.pix_fmt not in formats:
        can = [name for name in settings.spec.pixel_formats if name in formats]
        raise VideoInputError(
            f'the {settings.spec.encoder} encoder of this PyAV cannot write {settings.pix_fmt}; use --pix_fmt '
            f'{" or ".join(can)}, or another --codec for 10-bit'
        )


def encoder_can_write(settings: EncoderSettings) -> bool:
    """Whether the encoder of ``settings`` writes its pixel format (see :func:`check_encoder`)."""
    try:
        check_encoder(settings)
    except VideoInputError:
        return False
    return True


def pad_to_even(image: np.ndarray, rows: bool = True) -> np.ndarray:
    """Repeat the last column (and, with ``rows``, the last row) once when the width (height) is odd.

    Args:
        image: H x W x C array.
        rows: Make the height even too (4:2:0 formats); 4:2:2 formats need an even width only.

    Returns:
        The image with even sizes (the input itself when they are even already).
    """
    height, width = image.shape[:2]
    bottom, right = (height % 2 if rows else 0), width % 2
    if not bottom and not right:
        return image
    return cv2.copyMakeBorder(image, 0, bottom, 0, right, cv2.BORDER_REPLICATE)


def decode_time_shift(first_packet: av.Packet, frame_ticks: int) -> int:
    """How far to move every decode time of a stream whose encoder left them unset, judged on its first packet.

    libx265 now and then gives a stream of only one or two frames decode times that are all off by the same garbage
    amount (6 of 100 two-frame segments here), and the MP4 muxer then refuses the first packet ("pts/dts pair
    unsupported"), failing the segment. A first decode time after the presentation time, or more than
    :data:`_MAX_DECODE_DELAY_FRAMES` frames before it, is such a value: moving it onto the presentation time, and
    every later one by as much, gives the decode times of an encoder without delay.

    Args:
        first_packet: The stream's first packet.
        frame_ticks: One frame's duration in the packet's time base.

    Returns:
        What to add to every packet's decode time (0 where the first one is plausible).
    """
    pts, dts = first_packet.pts, first_packet.dts
    if pts is None or dts is None:
        return 0
    return pts - dts if dts > pts or pts - dts > _MAX_DECODE_DELAY_FRAMES * frame_ticks else 0


class SegmentWriter:
    """Write BGR frames (uint8, or uint16 for more than 8 bits) with given timestamps into one video file.

    The encoder opens on the first frame (its size is known then). Use it as a context manager: leaving the
    block normally flushes the encoder and finishes the file.

    Args:
        path: Output file (in the container of :func:`segment_format`, whatever its name).
        settings: Encoder settings (``pix_fmt='auto'`` means the codec's 8-bit format).
        time_base: Unit of the timestamps given to :meth:`write`, in seconds.
        frame_rate: Nominal frame rate stored in the stream.
        color: Colour description of the input (see :func:`realesrgan.video.color.output_color`); ``None``: unknown.
        sample_aspect_ratio: Shape of a pixel (width / height), kept from the input; ``None`` for square.
    """

    def __init__(
        self,
        path: str,
        settings: EncoderSettings,
        time_base: Fraction,
        frame_rate: Fraction,
        color: Optional[ColorTags] = None,
        sample_aspect_ratio: Optional[Fraction] = None,
    ) -> None:
        self.path = path
        self.settings = settings.for_input(8)
        self.time_base = Fraction(time_base)
        self.frame_rate = Fraction(frame_rate)
        self.color = output_color(color or ColorTags())
        self.sample_aspect_ratio = sample_aspect_ratio
        self._container: Optional[av.container.OutputContainer] = None
        self._stream: Optional[av.VideoStream] = None
        self._dts_shift: Optional[int] = None  # decode_time_shift, set by the first packet

    def __enter__(self) -> 'SegmentWriter':
        return self

    def __exit__(self, exc_type: Optional[type], exc: Optional[BaseException], traceback: Any) -> None:
        if exc_type is None:
            self.close()
        elif self._container is not None:
            self._container.close()

    def write(self, image: np.ndarray, pts: int, duration: int) -> None:
        """Encode one frame.

        Args:
            image: BGR frame, uint8 or uint16; all frames of a file must have the same size.
            pts: Its presentation timestamp in ``time_base`` units.
            duration: How long it is shown, in ``time_base`` units.
        """
        pix_fmt = self.settings.pix_fmt
        if pix_fmt.startswith(('yuv420p', 'yuv422p')):
            image = pad_to_even(image, rows=pix_fmt.startswith('yuv420p'))
        if self._container is None:
            self._open(image.shape[1], image.shape[0])
        source_format = 'bgr48le' if image.dtype == np.uint16 else 'bgr24'
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=source_format)
        frame = frame.reformat(
            format=pix_fmt,
            dst_colorspace=self.color.matrix,
            dst_color_range=self.color.range,
            interpolation=CONVERSION_FLAGS,
        )
        frame.pts = pts
        frame.duration = duration
        frame.time_base = self.time_base
        for packet in self._stream.encode(frame):
            self._mux(packet)

    def close(self) -> None:
        """Flush the encoder and finish the file (a file with no frame written is never created)."""
        if self._container is None:
            return
        for packet in self._stream.encode(None):
            self._mux(packet)
        self._container.close()
        self._container = None

    def _mux(self, packet: av.Packet) -> None:
        if self._dts_shift is None:
            self._dts_shift = decode_time_shift(packet, max(1, round(1 / (self.frame_rate * self.time_base))))
        if self._dts_shift and packet.dts is not None:
            packet.dts += self._dts_shift
        self._container.mux(packet)

    def _open(self, width: int, height: int) -> None:
        settings = self.settings
        container = av.open(self.path, mode='w', format=segment_format(settings))
        stream = container.add_stream(settings.spec.encoder, rate=self.frame_rate, options=encoder_options(settings))
        stream.width, stream.height, stream.pix_fmt = width, height, settings.pix_fmt
        stream.time_base = self.time_base
        codec = stream.codec_context
        codec.time_base = self.time_base
        codec.color_range = self.color.range
        codec.color_primaries, codec.color_trc = self.color.primaries, self.color.transfer
        codec.colorspace = self.color.matrix
        if self.sample_aspect_ratio:
            codec.sample_aspect_ratio = self.sample_aspect_ratio
        self._container, self._stream = container, stream
