"""Encoding upscaled frames to H.264 in an MP4 file with PyAV (its wheel ships FFmpeg with libx264).

Frames are converted to YUV as :mod:`realesrgan.video.color` describes. With ``yuv420p`` (the default, what
every player decodes) the chroma planes have half the width and height, so a frame must have even dimensions:
an odd width or height is padded by repeating its last column or row once, and the output is one pixel larger
than ``input x outscale`` in that direction. ``yuv444p`` keeps full-resolution colour and odd sizes as they are,
but fewer players (browsers, phones) decode it.
"""

from fractions import Fraction
from typing import Any, Dict, Optional

import av
import cv2
import numpy as np

from realesrgan.video.color import BT709_TAG, CONVERSION_FLAGS, OUTPUT_COLORSPACE, OUTPUT_RANGE
from realesrgan.video.encoder_settings import EncoderSettings
from realesrgan.video.x264 import repeatable_x264_params


def x264_options(settings: EncoderSettings) -> Dict[str, str]:
    """Options for the libx264 encoder (repeatable: see :mod:`realesrgan.video.x264`)."""
    return {'crf': f'{settings.crf:g}', 'preset': settings.preset, **repeatable_x264_params()}


def pad_to_even(image: np.ndarray) -> np.ndarray:
    """Repeat the last column and/or row once when the width and/or height is odd.

    Args:
        image: H x W x C array.

    Returns:
        The image with even height and width (the input itself when both are even already).
    """
    height, width = image.shape[:2]
    bottom, right = height % 2, width % 2
    if not bottom and not right:
        return image
    return cv2.copyMakeBorder(image, 0, bottom, 0, right, cv2.BORDER_REPLICATE)


class SegmentWriter:
    """Write BGR uint8 frames with given timestamps into one H.264 MP4 file.

    The encoder opens on the first frame (its size is known then). Use it as a context manager: leaving the
    block normally flushes the encoder and finishes the file.

    Args:
        path: Output file (``.mp4``).
        settings: Encoder settings.
        time_base: Unit of the timestamps given to :meth:`write`, in seconds.
        frame_rate: Nominal frame rate stored in the stream.
    """

    def __init__(self, path: str, settings: EncoderSettings, time_base: Fraction, frame_rate: Fraction) -> None:
        self.path = path
        self.settings = settings
        self.time_base = Fraction(time_base)
        self.frame_rate = Fraction(frame_rate)
        self._container: Optional[av.container.OutputContainer] = None
        self._stream: Optional[av.VideoStream] = None

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
            image: BGR uint8 frame; all frames of a file must have the same size.
            pts: Its presentation timestamp in ``time_base`` units.
            duration: How long it is shown, in ``time_base`` units.
        """
        if self.settings.pix_fmt == 'yuv420p':
            image = pad_to_even(image)
        if self._container is None:
            self._open(image.shape[1], image.shape[0])
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format='bgr24')
        frame = frame.reformat(
            format=self.settings.pix_fmt,
            dst_colorspace=OUTPUT_COLORSPACE,
            dst_color_range=OUTPUT_RANGE,
            interpolation=CONVERSION_FLAGS,
        )
        frame.pts = pts
        frame.duration = duration
        frame.time_base = self.time_base
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and finish the file (a file with no frame written is never created)."""
        if self._container is None:
            return
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        self._container = None

    def _open(self, width: int, height: int) -> None:
        container = av.open(self.path, mode='w', format='mp4')
        stream = container.add_stream('libx264', rate=self.frame_rate, options=x264_options(self.settings))
        stream.width, stream.height, stream.pix_fmt = width, height, self.settings.pix_fmt
        stream.time_base = self.time_base
        codec = stream.codec_context
        codec.time_base = self.time_base
        codec.color_range = OUTPUT_RANGE
        codec.colorspace = codec.color_primaries = codec.color_trc = BT709_TAG
        self._container, self._stream = container, stream
