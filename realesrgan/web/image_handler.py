"""The page's image upscaling: the uploads become an :class:`~realesrgan.batch.job.ImageJob`, run as the CLI
runs it.

The job's values start from the image command line's own defaults (its parser), then take the server's engine flags
(weights folder, device, pixel limit...) and the choices made on the page, named as the CLI's flags; so the page
gives the same files as ``inference_realesrgan.py`` with the same settings, and the same one-line reasons for what
it cannot do. The uploads are gathered into the job's folder, the outputs written next to them, and a zip of all.
"""

import os
import time
import zipfile
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image

from realesrgan.batch.job import ImageJob, ImageJobError
from realesrgan.batch.run import plan_batch, run_image_job
from realesrgan.cli.image import build_parser
from realesrgan.fileio.images import read_image, write_image
from realesrgan.web.cancel_board import CancelToken, JobCancelled, Report
from realesrgan.web.choices import EngineChoices, job_values, with_local_model
from realesrgan.web.workspace import Workspace, shorten_paths

__all__ = ['ImageChoices', 'ImageOutput', 'ImageResult', 'before_after', 'image_job', 'upscale_images']

# formats a browser shows; other outputs (TIFF) get a PNG copy for the comparison slider
BROWSER_FORMATS = ('.png', '.jpg', '.jpeg', '.webp')
ZIP_NAME = 'realesrgan-results.zip'


@dataclass(frozen=True)
class ImageChoices(EngineChoices):
    """What the Images tab lets a user choose: the choices of both tabs, and how outputs are written.

    Attributes:
        ext: Output format (``auto`` keeps the input's).
        quality: JPEG / WebP quality, None for the CLI's default.
        keep_metadata: Copy EXIF, ICC profile, PNG text and DPI to the outputs (``--strip_metadata`` when False).
    """

    ext: str = 'auto'
    quality: Optional[int] = None
    keep_metadata: bool = True

    def flags(self) -> Dict[str, Any]:
        """The choices as parsed flags of the image CLI."""
        return {**super().flags(), 'ext': self.ext, 'quality': self.quality, 'strip_metadata': not self.keep_metadata}


@dataclass(frozen=True)
class ImageOutput:
    """One upscaled image.

    Attributes:
        input: The uploaded image (in the job folder).
        path: The output file.
        width: Output width in pixels.
        height: Output height in pixels.
        seconds: Time spent on this image (read, upscale; the model was loaded before).
    """

    input: str
    path: str
    width: int
    height: int
    seconds: float

    def describe(self) -> str:
        """E.g. ``astronaut_out.png: 512x512 px, 1.4 s``."""
        return f'{os.path.basename(self.path)}: {self.width}x{self.height} px, {self.seconds:.1f} s'


@dataclass
class ImageResult:
    """What an image job gave the page.

    Attributes:
        message: The job's report (counts, skipped and failed files with their reasons), or its one-line error.
        outputs: The images written, in the order of the uploads.
        zip_path: A zip of every output, or None when there is none.
    """

    message: str
    outputs: List[ImageOutput] = field(default_factory=list)
    zip_path: Optional[str] = None


def image_job(input_folder: str, output_folder: str, choices: ImageChoices, server: Mapping[str, Any]) -> ImageJob:
    """The job the image CLI would run for these choices.

    Args:
        input_folder: Folder of the uploaded images (``-i``).
        output_folder: Where the outputs go (``-o``).
        choices: What the page chose.
        server: The server's engine flags (``weights_dir``, ``device``, ``max_pixels``, ...), as parsed.

    Raises:
        ImageJobError: A choice has a value it cannot take (the message names the flag).
    """
    return ImageJob.from_args(job_values(build_parser(), server, choices, input_folder, output_folder))


class _Progress:
    """Turns the job's image and tile callbacks into the page's progress bar and per-image times; checks Cancel."""

    def __init__(self, report: Report, token: CancelToken) -> None:
        self.report = report
        self.token = token
        self.done = 0
        self.total = 1
        self.started = time.perf_counter()
        self.seconds: List[float] = []

    def image(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if done > self.done:
            self.seconds.append(now - self.started)
        self.done, self.total, self.started = done, max(1, total), now
        self.token.check()
        self.report(done / self.total, f'image {min(done + 1, total)} of {total}')

    def tile(self, done: int, total: int) -> None:
        self.token.check()
        fraction = (self.done + done / max(1, total)) / self.total
        self.report(fraction, f'image {self.done + 1} of {self.total}: tile {done} of {total}')


def _image_size(path: str) -> Tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def _match_outputs(planned: Sequence[str], written: Sequence[str]) -> List[Tuple[int, str]]:
    """(input index, output) of every written file: by planned name, else by stem (alpha seen only in the pixels)."""
    stems = [os.path.splitext(one)[0] for one in planned]
    matched = []
    for path in written:
        index = planned.index(path) if path in planned else stems.index(os.path.splitext(path)[0])
        matched.append((index, path))
    return matched


def _zip(paths: Sequence[str], target: str) -> str:
    with zipfile.ZipFile(target, 'w', zipfile.ZIP_STORED) as archive:
        for path in paths:
            archive.write(path, os.path.basename(path))
    return target


def upscale_images(
    uploads: Sequence[str],
    choices: ImageChoices,
    server: Mapping[str, Any],
    workspace: Workspace,
    token: CancelToken,
    report: Report,
) -> ImageResult:
    """Upscale uploaded images with the image job, in a new job folder of the workspace.

    Args:
        uploads: Uploaded files (any kind: files that are not images are reported, as the CLI does).
        choices: What the page chose.
        server: The server's engine flags, as parsed.
        workspace: The server's temporary folder.
        token: Checked between tiles and images.
        report: Receives the progress.

    Returns:
        The outputs and the job's report; a job that cannot start gives its one-line reason and no outputs.

    Raises:
        JobCancelled: Cancel was pressed; the job folder is removed.
    """
    if not uploads:
        return ImageResult('Upload one or more images first.')
    folder = workspace.new_job_folder('images')
    try:
        workspace.gather(uploads, os.path.join(folder, 'in'))
        choices = with_local_model(choices, workspace, folder)
        job = image_job(os.path.join(folder, 'in'), os.path.join(folder, 'out'), choices, server)
        planned = plan_batch(job).items
        lines: List[str] = []
        progress = _Progress(report, token)
        summary = run_image_job(job, log=lines.append, progress=False, on_image=progress.image, on_tile=progress.tile)
    except JobCancelled:
        workspace.discard(folder)
        raise
    except (ImageJobError, ValueError) as error:
        workspace.discard(folder)
        return ImageResult(shorten_paths(f'error: {error}', folder))
    outputs = []
    for index, path in _match_outputs([item.output for item in planned], summary.written):
        width, height = _image_size(path)
        outputs.append(ImageOutput(planned[index].input, path, width, height, progress.seconds[index]))
    message = summary.describe('the downloads below')
    if summary.notes:
        message += '\n' + '\n'.join(f'Note: {note}' for note in summary.notes)
    message = shorten_paths(message, folder)
    zip_path = _zip([one.path for one in outputs], os.path.join(folder, ZIP_NAME)) if outputs else None
    return ImageResult(message, outputs, zip_path)


def before_after(output: ImageOutput, folder: str) -> Tuple[str, str]:
    """Two images of the same size for the comparison slider: the input enlarged (bicubic) and the output.

    Args:
        output: An upscaled image.
        folder: Where the display copies go.

    Returns:
        ``(before, after)`` paths; ``after`` is the output itself when a browser can show its format.
    """
    os.makedirs(folder, exist_ok=True)
    stem = os.path.splitext(os.path.basename(output.path))[0]
    before = os.path.join(folder, f'{stem}_before.png')
    source = read_image(output.input)
    write_image(before, _displayable(cv2.resize(source, (output.width, output.height), interpolation=cv2.INTER_CUBIC)))
    after = output.path
    if os.path.splitext(after)[1].lower() not in BROWSER_FORMATS:
        after = os.path.join(folder, f'{stem}_after.png')
        write_image(after, _displayable(read_image(output.path)))
    return before, after


def _displayable(image: np.ndarray) -> np.ndarray:
    """8-bit pixels (16-bit images scaled), which every browser shows."""
    return (image // 257).astype(np.uint8) if image.dtype == np.uint16 else image
