"""Upscale an image file or a folder of images: the engine behind ``inference_realesrgan.py``.

Everything that can be checked before the first image is checked first (arguments, input, output folder, model,
weights, GFPGAN), each with a message that says what to do (:class:`ImageJobError`). Then the images are read
ahead in a thread, upscaled, and written atomically by another thread; a file that cannot be read, upscaled or
written is skipped with a one-line reason and listed in the :class:`JobSummary`.
"""

import logging
import os
import queue
import tempfile
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Dict, List, Optional, Tuple, Type

from tqdm import tqdm

from realesrgan.app.job import JobSetupError, UpscaleJob, reported_as
from realesrgan.app.upscaler import UpscalerRecipe, describe_engine
from realesrgan.fileio.atomic import remove_stale_partials
from realesrgan.fileio.images import IMAGE_EXTENSIONS
from realesrgan.utils import IOConsumer, PrefetchReader

__all__ = ['EXTENSIONS', 'ImageJob', 'ImageJobError', 'JobSummary', 'collect_inputs', 'output_path', 'run_image_job']

logger = logging.getLogger(__name__)

EXTENSIONS = ('auto', 'jpg', 'png')
# Tile progress bars are shown for images with at least this many tiles.
TILE_BAR_MIN_TILES = 4


class ImageJobError(JobSetupError):
    """The image job cannot start; the message says what was wrong and what to do."""


@dataclass(frozen=True)
class ImageJob(UpscaleJob):
    """An image upscaling run: the flags of ``inference_realesrgan.py`` (see its ``--help``)."""

    setup_error: ClassVar[Type[JobSetupError]] = ImageJobError


@dataclass
class JobSummary:
    """What a run did.

    Attributes:
        total: Image files attempted.
        written: Output files written.
        skipped: ``(path, reason)`` of the files that are not images (not an error).
        failed: ``(path, reason)`` of every image that could not be read, upscaled or written.
    """

    total: int
    written: List[str] = field(default_factory=list)
    skipped: List[Tuple[str, str]] = field(default_factory=list)
    failed: List[Tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every image was upscaled and written."""
        return not self.failed

    def describe(self, output_folder: str) -> str:
        """A short report for the user: counts, then one line per skipped or failed file."""
        lines = [f'{len(self.written)} of {self.total} image(s) upscaled into {output_folder}.']
        for title, entries in (('not images, skipped', self.skipped), ('FAILED', self.failed)):
            if entries:
                lines.append(f'{len(entries)} {title}:')
                lines += [f'  {path}: {reason}' for path, reason in entries]
        return '\n'.join(lines)


def _check_options(job: ImageJob) -> None:
    if job.ext not in EXTENSIONS:
        raise ImageJobError(f'--ext must be one of {", ".join(EXTENSIONS)}, got {job.ext!r}.')


def collect_inputs(path: str) -> Tuple[List[str], List[Tuple[str, str]]]:
    """The images to upscale: ``path`` itself, or the files of the folder ``path`` (sorted, not recursive).

    Hidden files and sub-folders are ignored; files whose extension is not an image format are returned as
    skipped, with the reason (images that cannot be decoded are found later, when they are read).

    Args:
        path: An image file or a folder.

    Returns:
        The image paths and the ``(path, reason)`` of the skipped files.

    Raises:
        ImageJobError: ``path`` does not exist, or is a folder without files.
    """
    if not os.path.exists(path):
        raise ImageJobError(f'Input "{path}" does not exist: give an image file or a folder of images with -i.')
    if os.path.isfile(path):
        return [path], []
    if not os.path.isdir(path):
        raise ImageJobError(
            f'Input "{path}" is neither an image file nor a folder (a device or a pipe?): give an '
            'image file or a folder of images with -i.'
        )
    files = [
        os.path.join(path, name)
        for name in sorted(os.listdir(path))
        if not name.startswith('.') and os.path.isfile(os.path.join(path, name))
    ]
    if not files:
        raise ImageJobError(f'Input folder "{path}" holds no files: put images in it or give another folder with -i.')
    images, skipped = [], []
    for file in files:
        extension = os.path.splitext(file)[1].lower()
        if extension in IMAGE_EXTENSIONS:
            images.append(file)
        else:
            skipped.append(
                (file, f'not an image file (extension "{extension}"; images are {", ".join(IMAGE_EXTENSIONS)})')
            )
    return images, skipped


def output_path(input_path: str, output_folder: str, suffix: str, ext: str, img_mode: Optional[str]) -> str:
    """``<output_folder>/<name>_<suffix>.<ext>`` as the original names outputs (RGBA images always as PNG).

    Args:
        input_path: The input image.
        output_folder: Folder of the outputs.
        suffix: Added to the name; empty for none.
        ext: ``'auto'`` (the input's extension), ``'jpg'`` or ``'png'``.
        img_mode: ``'RGBA'`` for images with alpha (forces PNG), else anything.

    Returns:
        The output path.
    """
    name, extension = os.path.splitext(os.path.basename(input_path))
    extension = (extension[1:] or 'png') if ext == 'auto' else ext
    if img_mode == 'RGBA':
        extension = 'png'
    return os.path.join(output_folder, f'{name}_{suffix}.{extension}' if suffix else f'{name}.{extension}')


def _prepare_output_folder(folder: str) -> None:
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ImageJobError(
            f'Cannot write to the output folder "{folder}" ({error.strerror or error}). Choose a '
            'writable folder with -o.'
        ) from None
    for path in remove_stale_partials(folder):
        logger.info('Removed %s, left by an interrupted run.', path)


def _check_output_names(paths: List[str], job: ImageJob) -> None:
    """Refuse, before any work, inputs that would overwrite each other's output, or an input itself."""
    inputs = {os.path.realpath(path): path for path in paths}
    claimed = {}
    for path in paths:
        planned = os.path.realpath(output_path(path, job.output, job.suffix, job.ext, None))
        if planned in inputs:
            raise ImageJobError(
                f'The output of "{path}" would overwrite the input "{inputs[planned]}": choose another '
                'folder with -o or a --suffix.'
            )
        if planned in claimed:
            raise ImageJobError(
                f'"{claimed[planned]}" and "{path}" would both be written to "{planned}": rename one '
                'of them, or keep their formats apart with --ext auto.'
            )
        claimed[planned] = path


def _reason(error: BaseException) -> str:
    """One line that says why an image failed (OpenCV and torch messages span several lines)."""
    text = ' '.join(str(error).split())
    if isinstance(error, (ValueError, RuntimeError, MemoryError)) and text:
        return text
    return f'{type(error).__name__}: {text}' if text else type(error).__name__


class _TileBar:
    """A tile progress bar for images with many tiles (created on the first report, reset for each pass)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Optional[tqdm] = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < TILE_BAR_MIN_TILES:
            return
        if self.bar is None or done < self.bar.n:
            self.close()
            self.bar = tqdm(total=total, unit='tile', leave=False, position=1)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def run_image_job(job: ImageJob, log: Callable[[str], None] = tqdm.write, progress: bool = True) -> JobSummary:
    """Upscale the images of ``job.input`` into ``job.output``.

    Args:
        job: The options.
        log: Receives the device and precision line, then one line per skipped or failed file.
        progress: Show progress bars (images, and tiles of big images).

    Returns:
        What was written and what failed.

    Raises:
        ImageJobError: The job cannot start (bad option, missing input, empty folder, unwritable output folder,
            unknown model, missing weights, GFPGAN unavailable).
    """
    _check_options(job)
    paths, skipped = collect_inputs(job.input)
    _check_output_names(paths, job)
    _prepare_output_folder(job.output)
    with reported_as(ImageJobError):
        upscale = UpscalerRecipe(job.choose_model(), job.settings, job.face_enhance, job.weights_dir).build()
    log(describe_engine(upscale.upsampler.device, upscale.upsampler.precision, job.settings.precision))
    summary = JobSummary(total=len(paths), skipped=skipped)
    for path, reason in skipped:
        log(f'Skipped {path}: {reason}')

    written_by: Dict[str, str] = {}
    writes: queue.Queue = queue.Queue(maxsize=2)
    writer = IOConsumer(job, writes, 0)
    writer.start()
    try:
        with tqdm(total=len(paths), unit='image', disable=not progress) as bar:
            for result in PrefetchReader(paths, 2).results():
                bar.set_postfix_str(os.path.basename(result.path), refresh=False)
                if result.error is not None:
                    log(f'Skipped {result.path}: {result.error}')
                    summary.failed.append((result.path, result.error))
                else:
                    tile_bar = _TileBar(progress)
                    img_mode = 'RGBA' if result.image.ndim == 3 and result.image.shape[2] == 4 else None
                    save_path = output_path(result.path, job.output, job.suffix, job.ext, img_mode)
                    try:
                        if save_path in written_by:  # an alpha image became PNG beside an input of that name
                            raise ValueError(f'its output {save_path} is already the output of {written_by[save_path]}')
                        output = upscale(result.image, on_tile=tile_bar)
                    except Exception as error:  # noqa: BLE001 (one image fails, with its reason; the batch goes on)
                        log(f'Failed {result.path}: {_reason(error)}')
                        summary.failed.append((result.path, _reason(error)))
                    else:
                        written_by[save_path] = result.path
                        writes.put({'output': output, 'save_path': save_path})
                    finally:
                        tile_bar.close()
                bar.update()
    finally:
        writes.put('quit')
        writer.join()
    summary.written.extend(writer.saved)
    summary.failed.extend(writer.failed)
    return summary
