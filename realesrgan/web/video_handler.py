"""The page's video upscaling: an uploaded clip becomes a :class:`~realesrgan.video.job.VideoJob`, run as the
video CLI runs it (worker processes, sound kept, the finished MP4 renamed into place at the end).

As for images (:mod:`realesrgan.web.image_handler`), the job's values start from the video command line's defaults,
then take the server's engine flags and the page's choices, named as the CLI's flags.
"""

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional

from realesrgan.inference.model_choice import DEFAULT_VIDEO_MODEL
from realesrgan.web.cancel_board import CancelToken, JobCancelled, Report
from realesrgan.web.choices import EngineChoices, job_values, with_local_model
from realesrgan.web.workspace import Workspace, shorten_paths

if TYPE_CHECKING:  # PyAV is imported only when a video job runs
    from realesrgan.video.job import VideoJob

__all__ = ['VideoChoices', 'VideoResult', 'upscale_video_file', 'video_job']


@dataclass(frozen=True)
class VideoChoices(EngineChoices):
    """What the Video tab lets a user choose: the choices of both tabs (face enhancement is turned off for anime
    models, as the CLI does), and the x264 quality.

    Attributes:
        model_name: A model of the zoo (default: the video CLI's, realesr-animevideov3).
        crf: x264 quality (0 lossless, 51 worst).
    """

    model_name: str = DEFAULT_VIDEO_MODEL
    crf: float = 23

    def flags(self) -> Dict[str, Any]:
        """The choices as parsed flags of the video CLI."""
        return {**super().flags(), 'crf': self.crf}


@dataclass(frozen=True)
class VideoResult:
    """What a video job gave the page: its report (or one-line error) and the MP4 (None when none was written)."""

    message: str
    path: Optional[str] = None


def video_job(input_path: str, output_folder: str, choices: VideoChoices, server: Mapping[str, Any]) -> 'VideoJob':
    """The :class:`~realesrgan.video.job.VideoJob` the video CLI would run for these choices.

    Args:
        input_path: The uploaded clip (``-i``).
        output_folder: Where the MP4 goes (``-o``).
        choices: What the page chose.
        server: The server's engine flags (``weights_dir``, ``device``, ``max_pixels``, ...), as parsed.

    Raises:
        ImportError: PyAV is missing (the message says what to install).
        realesrgan.video.job.VideoJobSetupError: A choice has a value it cannot take (the message names the flag).
    """
    from realesrgan.cli.video import build_parser
    from realesrgan.video.job import VideoJob

    return VideoJob.from_args(job_values(build_parser(), server, choices, input_path, output_folder))


def upscale_video_file(
    upload: Optional[str],
    choices: VideoChoices,
    server: Mapping[str, Any],
    workspace: Workspace,
    token: CancelToken,
    report: Report,
) -> VideoResult:
    """Upscale an uploaded clip with the video job, in a new job folder of the workspace.

    Args:
        upload: The uploaded file.
        choices: What the page chose.
        server: The server's engine flags, as parsed.
        workspace: The server's temporary folder.
        token: Checked after each encoded frame.
        report: Receives the progress.

    Returns:
        The MP4 and the job's report; a job that cannot run gives its one-line reason and no file.

    Raises:
        JobCancelled: Cancel was pressed; the workers are stopped and the job folder is removed.
    """
    if not upload:
        return VideoResult('Upload a video first.')
    folder = workspace.new_job_folder('video')
    try:
        from realesrgan.video import VideoInputError, VideoJobError
        from realesrgan.video.job import VideoJobSetupError, run_video_job
    except ImportError as error:  # PyAV missing: the message says what to install
        workspace.discard(folder)
        return VideoResult(f'error: {error}')
    frames = _FrameCount(report, token)
    lines: List[str] = []
    try:
        source = workspace.gather([upload], os.path.join(folder, 'in'))[0]
        choices = with_local_model(choices, workspace, folder)
        job = video_job(source, os.path.join(folder, 'out'), choices, server)
        summary = run_video_job(job, log=lines.append, progress=frames.add, on_start=frames.start)
    except JobCancelled:
        workspace.discard(folder)
        raise
    except (VideoJobSetupError, VideoInputError, ValueError) as error:
        workspace.discard(folder)
        return VideoResult(shorten_paths(f'error: {error}', folder))
    except VideoJobError as error:
        workspace.discard(folder)
        return VideoResult(shorten_paths(f'error: {error}; nothing was written', folder))
    warnings = [f'warning: {warning}' for warning in summary.result.warnings]
    message = shorten_paths('\n'.join([*lines, summary.describe(), *warnings]), folder)
    return VideoResult(message, summary.result.output_path)


class _FrameCount:
    """Counts encoded frames for the page's progress bar; checks Cancel after each."""

    def __init__(self, report: Report, token: CancelToken) -> None:
        self.report = report
        self.token = token
        self.done = 0
        self.total = 0

    def start(self, total: int) -> None:
        self.total = total
        self.token.check()
        self.report(0.0, f'0 of {total} frames')

    def add(self, frames: int) -> None:
        self.done += frames
        self.token.check()
        self.report(self.done / max(1, self.total), f'{self.done} of {self.total} frames')
