"""Video upscaling with sound, progress and several worker processes, on PyAV alone (no ffmpeg binary needed).

The pieces, one job each: :mod:`~realesrgan.video.reader` (probe and decode the input, or read a folder of
frames), :mod:`~realesrgan.video.timeline` (which input frame each output frame shows, and when),
:mod:`~realesrgan.video.segments` (cut the job into segments, join the encoded segments losslessly),
:mod:`~realesrgan.video.writer` (H.264 encoding), :mod:`~realesrgan.video.color` (BGR/YUV conversion),
:mod:`~realesrgan.video.x264` (repeatable encodes), :mod:`~realesrgan.video.audio` (copy the audio),
:mod:`~realesrgan.video.worker` (one worker process) and :mod:`~realesrgan.video.job` (the orchestration:
:func:`upscale_video`). The frame upscaler the workers build is :class:`realesrgan.app.upscaler.UpscalerRecipe`;
:mod:`realesrgan.app.video_job` turns the command line into a job.
"""
from realesrgan.video.errors import VideoInputError, VideoJobError
from realesrgan.video.job import VideoJobResult, upscale_video, worker_devices
from realesrgan.video.writer import DEFAULT_CRF, PIXEL_FORMATS, EncoderSettings

__all__ = [
    'DEFAULT_CRF', 'PIXEL_FORMATS', 'EncoderSettings', 'VideoInputError', 'VideoJobError', 'VideoJobResult',
    'upscale_video', 'worker_devices'
]
