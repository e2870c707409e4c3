"""Where the video command writes: ``<output>/<name>_<suffix>.<container>``, or the file ``-o`` names.

The container is the output file's extension. ``-o`` ending in ``.mp4``, ``.mkv``, ``.mov`` or ``.webm`` (and not an
existing folder) is the output file itself; otherwise ``-o`` is a folder and the file is named after the input,
with ``--container`` as its extension, by default ``mp4`` (as the original), or the first container of the codec's
where MP4 cannot hold it (``mov`` for ProRes). No PyAV is needed here.
"""

import os
from typing import Optional

from realesrgan.video.encoder_settings import CODECS, CONTAINERS

__all__ = ['default_container', 'output_file', 'video_name']


def video_name(input_path: str) -> str:
    """Base name of the output: the file name without extension, or the folder name."""
    path = os.path.normpath(os.path.abspath(input_path))
    return os.path.basename(path) if os.path.isdir(path) else os.path.splitext(os.path.basename(path))[0]


def default_container(codec: str) -> str:
    """``mp4``, or the codec's first container where MP4 cannot hold it."""
    containers = CODECS[codec].containers
    return 'mp4' if 'mp4' in containers else containers[0]


def output_file(input_path: str, output: str, suffix: str, codec: str, container: Optional[str] = None) -> str:
    """The video file a job writes (see the module's documentation).

    Args:
        input_path: The input video or folder of frames.
        output: ``-o``: a folder, or a file ending in one of the containers' extensions.
        suffix: ``--suffix``.
        codec: ``--codec``.
        container: ``--container``, or ``None``.

    Raises:
        ValueError: ``-o`` names a file of one container and ``--container`` asks for another.
    """
    extension = os.path.splitext(output)[1].lower().lstrip('.')
    if extension in CONTAINERS and not os.path.isdir(output):
        if container is not None and container != extension:
            raise ValueError(f'-o names a .{extension} file but --container is {container}; leave one of them out')
        return output
    return os.path.join(output, f'{video_name(input_path)}_{suffix}.{container or default_container(codec)}')
