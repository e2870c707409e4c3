"""Video upscaling with sound, progress and several worker processes, on PyAV alone (no ffmpeg binary needed).

The pieces, one job each: :mod:`~realesrgan.video.reader` (probe and decode the input, or read a folder of
frames), :mod:`~realesrgan.video.timeline` (which input frame each output frame shows, and when),
:mod:`~realesrgan.video.segments` (cut the job into segments, join the encoded segments losslessly),
:mod:`~realesrgan.video.encoder_settings` (codecs, containers and their checks), :mod:`~realesrgan.video.writer`
(encoding), :mod:`~realesrgan.video.color` (BGR/YUV conversion and colour tags), :mod:`~realesrgan.video.x264`
(repeatable encodes), :mod:`~realesrgan.video.streams` (carry audio, subtitles, attachments, chapters and metadata),
:mod:`~realesrgan.video.naming` (the output file), :mod:`~realesrgan.video.preflight` (checks before the engine),
:mod:`~realesrgan.video.worker` (one worker process) and :mod:`~realesrgan.video.pipeline` (the orchestration:
:func:`upscale_video`). The frame upscaler the workers build is :class:`realesrgan.inference.recipe.UpscalerRecipe`;
:mod:`realesrgan.video.job` turns the command line into a job. Without PyAV, the settings and errors still import;
the job raises a one-line :class:`ImportError` naming what to install (see :mod:`~realesrgan.video.deps`).
"""

import importlib
from typing import Any

from realesrgan.video.deps import require_pyav
from realesrgan.video.encoder_settings import (
    CODECS,
    CONTAINERS,
    DEFAULT_CRF,
    PIXEL_FORMATS,
    X264_PRESETS,
    EncoderSettings,
)
from realesrgan.video.errors import VideoInputError, VideoJobError, VideoJobTerminated

__all__ = [
    'CODECS',
    'CONTAINERS',
    'DEFAULT_CRF',
    'PIXEL_FORMATS',
    'X264_PRESETS',
    'EncoderSettings',
    'VideoInputError',
    'VideoJobError',
    'VideoJobResult',
    'VideoJobTerminated',
    'require_pyav',
    'upscale_video',
    'worker_devices',
]

# The job needs PyAV: it is imported on first use, so that the settings and errors above (and --help) work without.
_NEED_PYAV = {
    'VideoJobResult': 'realesrgan.video.pipeline',
    'upscale_video': 'realesrgan.video.pipeline',
    'worker_devices': 'realesrgan.video.pipeline',
}


def __getattr__(name: str) -> Any:
    """The parts that need PyAV, imported when first asked for.

    Raises:
        ImportError: PyAV is missing or broken (one line saying what to install).
        AttributeError: No such name.
    """
    if name not in _NEED_PYAV:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    require_pyav()
    return getattr(importlib.import_module(_NEED_PYAV[name]), name)
