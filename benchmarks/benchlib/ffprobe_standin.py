"""A stand-in for the ``ffprobe`` program, for the original's video script (``video_fps.py`` puts it on its PATH).

The original's ``inference_realesrgan_video.py`` probes its input with ``ffmpeg.probe`` (ffmpeg-python), which
runs ``ffprobe -show_format -show_streams -of json FILE``. The ``imageio-ffmpeg`` wheel ships an ``ffmpeg`` program
but no ``ffprobe``, so this answers that one command with PyAV (the FFmpeg libraries of its wheel), giving the
stream fields the script reads (``codec_type``, ``width``, ``height``, ``avg_frame_rate``, ``nb_frames``) and a few
more, in ffprobe's JSON layout. Any other use exits with status 2.

    python ffprobe_standin.py -show_format -show_streams -of json clip.mp4
"""

import json
import sys
from fractions import Fraction
from typing import Any, Dict, List, Optional

import av


def _ratio(value: Optional[Fraction]) -> str:
    return f'{value.numerator}/{value.denominator}' if value else '0/0'


def _seconds(value: Optional[int], time_base: Optional[Fraction]) -> Optional[str]:
    return f'{float(value * time_base):.6f}' if value is not None and time_base else None


def describe(path: str) -> Dict[str, Any]:
    """ffprobe's ``-show_format -show_streams`` answer for a media file, as a dict.

    Args:
        path: The media file.

    Returns:
        ``{'streams': [...], 'format': {...}}`` with ffprobe's field names.
    """
    with av.open(path) as container:
        streams: List[Dict[str, Any]] = []
        for stream in container.streams:
            item: Dict[str, Any] = {
                'index': stream.index,
                'codec_name': stream.codec_context.name,
                'codec_type': stream.type,
                'time_base': _ratio(stream.time_base),
                'nb_frames': str(stream.frames),
            }
            duration = _seconds(stream.duration, stream.time_base)
            if duration is not None:
                item['duration'] = duration
            if stream.type == 'video':
                item.update(
                    width=stream.codec_context.width,
                    height=stream.codec_context.height,
                    pix_fmt=stream.codec_context.pix_fmt,
                    avg_frame_rate=_ratio(stream.average_rate),
                    r_frame_rate=_ratio(stream.base_rate or stream.average_rate),
                )
            elif stream.type == 'audio':
                item.update(sample_rate=str(stream.codec_context.sample_rate), channels=stream.codec_context.channels)
            streams.append(item)
        container_format = {
            'filename': path,
            'nb_streams': len(streams),
            'format_name': container.format.name,
            'duration': f'{container.duration / av.time_base:.6f}' if container.duration is not None else None,
        }
    return {'streams': streams, 'format': container_format}


def main(argv: List[str]) -> int:
    """Answer ``-show_format -show_streams -of json FILE`` (the options in any order); 2 for anything else."""
    files = [arg for arg in argv if not arg.startswith('-') and arg != 'json']
    options = {arg for arg in argv if arg.startswith('-')}
    if len(files) != 1 or not {'-show_format', '-show_streams', '-of'} <= options:
        print('ffprobe stand-in: only "-show_format -show_streams -of json FILE" is answered', file=sys.stderr)
        return 2
    try:
        print(json.dumps(describe(files[0]), indent=1))
    except (OSError, av.error.FFmpegError) as error:
        print(f'{files[0]}: {error}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
