"""The checks a video job makes before anything loads the engine, so a mistake is answered at once (well under a
second, torch not imported): the output's container against the codec, and the input (a readable video or a
folder).
"""

from realesrgan.video.encoder_settings import EncoderSettings, check_container, container_of
from realesrgan.video.errors import VideoInputError
from realesrgan.video.reader import check_input

__all__ = ['check_job', 'check_output']


def check_output(output_path: str, encoder: EncoderSettings) -> str:
    """The container of ``output_path`` (from its extension), checked against the codec; nothing is read.

    Raises:
        VideoInputError: An unknown extension, or a codec the container cannot hold (one line each).
    """
    try:
        container = container_of(output_path)
        check_container(encoder.codec, container)
    except ValueError as error:
        raise VideoInputError(str(error)) from None
    return container


def check_job(input_path: str, output_path: str, encoder: EncoderSettings) -> None:
    """Refuse a job whose output or input cannot work, before any work.

    Raises:
        VideoInputError: One line: what is wrong and what to do.
    """
    check_output(output_path, encoder)
    check_input(input_path)
