"""Upscale an image file or a folder of images: the engine behind ``inference_realesrgan.py``.

Everything that can be checked before the first image is checked first (arguments, inputs and their output names,
output folder, model, weights, GFPGAN, devices), each with a message that says what to do
(:class:`ImageJobError`). Then, with one worker, the images are read ahead in a thread, upscaled, and written
atomically by another thread; with several (``num_process_per_gpu``, or a list of devices) each worker process
reads, upscales and writes its share, and this process shows one progress bar for all. A file that cannot be read,
upscaled or written is skipped with a one-line reason and listed in the :class:`JobSummary`. Outputs are written
atomically, so a job that is killed can be finished by running it again with ``skip_existing``.
"""

import logging
import os
import tempfile
from dataclasses import dataclass, field
from typing import Callable, ClassVar, List, Optional, Tuple, Type

from tqdm import tqdm

from realesrgan.app.image_plan import EXTENSIONS, BatchPlan, InputError, collect_inputs, output_path
from realesrgan.app.image_plan import plan_batch as _plan_batch
from realesrgan.app.job import JobSetupError, UpscaleJob
from realesrgan.fileio.atomic import remove_stale_partials
from realesrgan.inference.settings import SettingError
from realesrgan.inference.tiling import TileCallback

__all__ = [
    'EXTENSIONS',
    'ImageJob',
    'ImageJobError',
    'JobSummary',
    'collect_inputs',
    'output_path',
    'plan_batch',
    'run_image_job',
]

logger = logging.getLogger(__name__)

# Called with (images done, images in all): once before the first image, then after each image.
ImageCallback = Callable[[int, int], None]


class ImageJobError(JobSetupError):
    """The image job cannot start; the message says what was wrong and what to do."""


@dataclass(frozen=True)
class ImageJob(UpscaleJob):
    """An image upscaling run: the flags of ``inference_realesrgan.py`` (see its ``--help``).

    Attributes:
        quality: JPEG / WebP quality from 1 to 100 (100: lossless WebP); None writes what the original writes
            (OpenCV's defaults: JPEG 95, lossless WebP).
        strip_metadata: Write no EXIF, ICC profile, PNG text or DPI (by default they are copied from each input).
        recursive: Upscale every image under the input folder, outputs in the same relative sub-folders.
        skip_existing: Leave the images whose output exists alone (an interrupted run then resumes).
    """

    setup_error: ClassVar[Type[JobSetupError]] = ImageJobError

    quality: Optional[int] = None
    strip_metadata: bool = False
    recursive: bool = False
    skip_existing: bool = False

    def __post_init__(self) -> None:
        if self.ext not in EXTENSIONS:
            raise SettingError('ext', f'ext must be one of {", ".join(EXTENSIONS)}, got {self.ext!r}.')
        if self.quality is not None and (
            isinstance(self.quality, bool) or not isinstance(self.quality, int) or not 1 <= self.quality <= 100
        ):
            raise SettingError('quality', f'quality must be an integer from 1 to 100, got {self.quality!r}.')


@dataclass
class JobSummary:
    """What a run did.

    Attributes:
        total: Image files found.
        written: Output files written.
        skipped: ``(path, reason)`` of the files that are not images (not an error).
        failed: ``(path, reason)`` of every image that could not be read, upscaled or written.
        existing: Images not upscaled because their output exists (``skip_existing``).
        notes: What the user should know about the outputs, each once (e.g. 16-bit results written as 8-bit).
    """

    total: int
    written: List[str] = field(default_factory=list)
    skipped: List[Tuple[str, str]] = field(default_factory=list)
    failed: List[Tuple[str, str]] = field(default_factory=list)
    existing: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every image was upscaled and written (or had its output already)."""
        return not self.failed

    def note(self, text: str, log: Callable[[str], None]) -> None:
        """Keep ``text`` (and log it) unless it was noted before."""
        if text and text not in self.notes:
            self.notes.append(text)
            log(f'Note: {text}')

    def describe(self, output_folder: str) -> str:
        """A short report for the user: counts, then one line per skipped or failed file."""
        lines = [f'{len(self.written)} of {self.total} image(s) upscaled into {output_folder}.']
        if self.existing:
            lines.append(f'{len(self.existing)} image(s) skipped: their output exists (--skip_existing).')
        for title, entries in (('not images, skipped', self.skipped), ('FAILED', self.failed)):
            if entries:
                lines.append(f'{len(entries)} {title}:')
                lines += [f'  {path}: {reason}' for path, reason in entries]
        return '\n'.join(lines)


def plan_batch(job: ImageJob) -> BatchPlan:
    """The images of ``job`` and their outputs (see :func:`realesrgan.app.image_plan.plan_batch`).

    Raises:
        ImageJobError: No input, two inputs with one output name, or an output over an input.
    """
    try:
        return _plan_batch(job.input, job.output, job.suffix, job.ext, job.recursive, job.skip_existing)
    except InputError as error:
        raise ImageJobError(str(error)) from None


def _prepare_output_folders(folder: str, plan: BatchPlan) -> None:
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ImageJobError(
            f'Cannot write to the output folder "{folder}" ({error.strerror or error}). Choose a '
            'writable folder with -o.'
        ) from None
    for sub_folder in sorted(plan.output_folders | {folder}):
        for path in remove_stale_partials(sub_folder):
            logger.info('Removed %s, left by an interrupted run.', path)


def run_image_job(
    job: ImageJob,
    log: Callable[[str], None] = tqdm.write,
    progress: bool = True,
    on_image: Optional[ImageCallback] = None,
    on_tile: Optional[TileCallback] = None,
) -> JobSummary:
    """Upscale the images of ``job.input`` into ``job.output``.

    Args:
        job: The options.
        log: Receives the device and precision line, then one line per skipped or failed file, and notes.
        progress: Show progress bars (images, and tiles of big images when there is one worker).
        on_image: Called with (images done, images in all) before the first image and after each one (e.g. the
            web page's progress bar). An exception it raises that is not an ``Exception`` (a cancel) stops the job.
        on_tile: Called with (tiles done, tiles in all) of the current image after each batch of tiles, when there
            is one worker; an exception as for ``on_image`` stops the job.

    Returns:
        What was written, what was there already, and what failed.

    Raises:
        ImageJobError: The job cannot start (missing input, empty folder, clashing output names, unwritable
            output folder, unknown model or device, missing weights, GFPGAN unavailable), or a worker process
            could not start.
    """
    plan = plan_batch(job)
    _prepare_output_folders(job.output, plan)
    # the engine (torch, BasicSR, the model) loads only now: input and option errors above answer at once
    from realesrgan.app.image_run import run_planned_job

    return run_planned_job(job, plan, log, progress, on_image, on_tile)
