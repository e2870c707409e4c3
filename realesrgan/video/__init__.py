"""Video upscaling with sound, progress and several worker processes, on PyAV alone (no ffmpeg binary needed).

The pieces, one job each: :mod:`~realesrgan.video.reader` (probe and decode the input, or read a folder of
frames), :mod:`~realesrgan.video.timeline` (which input frame each output frame shows, and when),
:mod:`~realesrgan.video.segments` (cut the job into segments, join the encoded segments losslessly),
:mod:`~realesrgan.video.writer` (H.264 encoding), :mod:`~realesrgan.video.color` (BGR/YUV conversion),
:mod:`~realesrgan.video.x264` (repeatable encodes), :mod:`~realesrgan.video.audio` (copy the audio),
:mod:`~realesrgan.video.worker` (one worker process), :mod:`~realesrgan.video.upscaler` (the Real-ESRGAN frame
upscaler the workers build) and :mod:`~realesrgan.video.job` (the orchestration: :func:`upscale_video`).
Without PyAV, importing this package raises a one-line :class:`ImportError` naming what to install (see
:mod:`~realesrgan.video.deps`).
"""
from realesrgan.video.deps import require_pyav

require_pyav()  # before the imports below, which need PyAV and would fail with "No module named 'av'"

from realesrgan.video.errors import VideoInputError, VideoJobError, VideoJobTerminated  # noqa: E402
from realesrgan.video.job import VideoJobResult, upscale_video, worker_devices  # noqa: E402
from realesrgan.video.writer import DEFAULT_CRF, PIXEL_FORMATS, EncoderSettings  # noqa: E402

__all__ = [
    'DEFAULT_CRF', 'PIXEL_FORMATS', 'EncoderSettings', 'VideoInputError', 'VideoJobError', 'VideoJobResult',
    'VideoJobTerminated', 'require_pyav', 'upscale_video', 'worker_devices'
]
