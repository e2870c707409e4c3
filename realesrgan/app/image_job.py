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
import queue
import tempfile
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Callable, ClassVar, Dict, List, Optional, Sequence, Set, Tuple, Type

from tqdm import tqdm

from realesrgan.app.face_enhance import require_gfpgan
from realesrgan.app.image_plan import EXTENSIONS, BatchItem, BatchPlan, InputError, collect_inputs, output_path
from realesrgan.app.image_plan import plan_batch as _plan_batch
from realesrgan.app.image_worker import OutputRule, WorkerPayload, describe_failure, prepare_output, run_image_worker
from realesrgan.app.job import JobSetupError, UpscaleJob, job_devices, reported_as
from realesrgan.app.upscaler import ImageUpscaler, UpscalerRecipe, describe_engine
from realesrgan.fileio.atomic import remove_stale_partials
from realesrgan.inference.device import select_device
from realesrgan.inference.precision import resolve_precision
from realesrgan.inference.settings import SettingError
from realesrgan.inference.tile_runner import TileCallback
from realesrgan.utils import IOConsumer, PrefetchReader
from realesrgan.workers.pool import WorkerWatcher, run_workers

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

# Tile progress bars are shown for images with at least this many tiles.
TILE_BAR_MIN_TILES = 4
# imported once by the process server, so that each worker starts with them loaded
_WORKER_MODULES = ['realesrgan.app.image_worker', 'realesrgan.app.upscaler']


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


# Called with (images done, images in all): once before the first image, then after each image.
ImageCallback = Callable[[int, int], None]


class _TileBar:
    """A tile progress bar for images with many tiles (created on the first report, reset for each pass).

    Every report also goes to ``on_tile`` when given (a caller's own progress display), whether a bar is shown or not.
    """

    def __init__(self, enabled: bool, on_tile: Optional[TileCallback] = None) -> None:
        self.enabled = enabled
        self.on_tile = on_tile
        self.bar: Optional[tqdm] = None

    def __call__(self, done: int, total: int) -> None:
        if self.on_tile is not None:
            self.on_tile(done, total)
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
    with reported_as(ImageJobError):
        devices = job_devices(job.settings, job.num_process_per_gpu)[: max(1, len(plan.items))]
        choice = job.choose_model()
        if job.face_enhance:
            require_gfpgan()
    recipe = UpscalerRecipe(choice, job.settings, job.face_enhance, job.weights_dir)
    summary = JobSummary(total=len(plan.items) + len(plan.existing), skipped=list(plan.not_images))
    for path, reason in plan.not_images:
        log(f'Skipped {path}: {reason}')
    summary.existing = [item.input for item in plan.existing]
    if plan.existing:
        log(f'{len(plan.existing)} image(s) have their output already: skipped (--skip_existing).')
    if not plan.items:
        return summary
    rule = OutputRule(
        job.output,
        job.suffix,
        job.ext,
        plan.root,
        job.quality,
        not job.strip_metadata,
        job.skip_existing,
        plan.claimed,
    )
    if len(devices) == 1:
        with reported_as(ImageJobError):
            upscale = recipe.build(devices[0])
        log(describe_engine(upscale.upsampler.device, upscale.upsampler.precision, job.settings.precision))
        _run_here(plan.items, upscale, rule, summary, log, progress, on_image, on_tile)
    else:
        first = select_device(devices[0])
        log(describe_engine(first, resolve_precision(job.settings.precision, first), job.settings.precision))
        log(f'{len(devices)} worker processes on {", ".join(sorted(set(devices)))}.')
        payload = WorkerPayload(plan.items, rule, recipe)
        _run_in_workers(plan.items, payload, devices, summary, log, progress, on_image)
    return summary


def _run_here(
    items: Sequence[BatchItem],
    upscale: ImageUpscaler,
    rule: OutputRule,
    summary: JobSummary,
    log: Callable[[str], None],
    progress: bool,
    on_image: Optional[ImageCallback] = None,
    on_tile: Optional[TileCallback] = None,
) -> None:
    """Upscale in this process: reading ahead in one thread, writing in another."""
    writes: queue.Queue = queue.Queue(maxsize=2)
    writer = IOConsumer(None, writes, 0)
    writer.start()
    try:
        with tqdm(total=len(items), unit='image', disable=not progress) as bar:
            if on_image is not None:
                on_image(0, len(items))
            reader = PrefetchReader([item.input for item in items], 2)
            for done, (item, result) in enumerate(zip(items, reader.results()), 1):
                bar.set_postfix_str(os.path.basename(result.path), refresh=False)
                if result.error is not None:
                    log(f'Skipped {result.path}: {result.error}')
                    summary.failed.append((result.path, result.error))
                else:
                    tile_bar = _TileBar(progress, on_tile)
                    try:
                        prepared = prepare_output(item, result.image, upscale, rule, on_tile=tile_bar)
                    except Exception as error:  # noqa: BLE001 (one image fails, with its reason; the batch goes on)
                        log(f'Failed {result.path}: {describe_failure(error)}')
                        summary.failed.append((result.path, describe_failure(error)))
                    else:
                        if prepared is None:
                            summary.existing.append(item.input)
                        else:
                            for note in prepared.notes:
                                summary.note(note, log)
                            writes.put(
                                {
                                    'output': prepared.image,
                                    'save_path': prepared.path,
                                    'quality': rule.quality,
                                    'metadata': prepared.metadata,
                                }
                            )
                    finally:
                        tile_bar.close()
                bar.update()
                if on_image is not None:
                    on_image(done, len(items))
    finally:
        writes.put('quit')
        writer.join()
    summary.written.extend(writer.saved)
    summary.failed.extend(writer.failed)
    for note in writer.notes:
        summary.note(note, log)


def _run_in_workers(
    items: Sequence[BatchItem],
    payload: WorkerPayload,
    devices: Sequence[str],
    summary: JobSummary,
    log: Callable[[str], None],
    progress: bool,
    on_image: Optional[ImageCallback] = None,
) -> None:
    """Upscale in one worker process per device, with one progress bar here."""
    watchers: List[_ImageWatcher] = []

    def watch(workers: Sequence[BaseProcess]) -> _ImageWatcher:
        watchers.append(_ImageWatcher(workers, devices, items, summary, log, bar, on_image))
        return watchers[-1]

    with tqdm(total=len(items), unit='image', disable=not progress) as bar:
        if on_image is not None:
            on_image(0, len(items))
        run_workers(
            run_image_worker, payload, devices, range(len(items)), watch, _WORKER_MODULES, 'realesrgan-image-worker'
        )
    # the outputs in the order of the inputs, whichever worker was faster
    summary.written.extend(watchers[0].written[index] for index in sorted(watchers[0].written))


class _ImageWatcher(WorkerWatcher):
    """Takes the events of the image workers into the summary, the progress bar and ``written`` (by input index).

    An image whose worker dies (killed, out of memory) fails with that reason and the other workers go on; when
    every worker has exited, the images left fail too. A worker that cannot start stops the job.
    """

    def __init__(
        self,
        workers: Sequence[BaseProcess],
        devices: Sequence[str],
        items: Sequence[BatchItem],
        summary: JobSummary,
        log: Callable[[str], None],
        bar: tqdm,
        on_image: Optional[ImageCallback] = None,
    ) -> None:
        super().__init__(workers)
        self.devices = devices
        self.items = items
        self.summary = summary
        self.log = log
        self.bar = bar
        self.on_image = on_image
        self.accounted: Set[int] = set()
        self.written: Dict[int, str] = {}
        self.abandoned = False

    def done(self) -> bool:
        return self.abandoned or len(self.accounted) == len(self.items)

    def _account(self, worker_id: int, index: int) -> None:
        self.current[worker_id] = None
        self._advance(index)

    def _advance(self, index: int) -> None:
        self.accounted.add(index)
        self.bar.update()
        if self.on_image is not None:
            self.on_image(len(self.accounted), len(self.items))

    def _fail(self, index: int, reason: str) -> None:
        path = self.items[index].input
        self.log(f'Failed {path}: {reason}')
        self.summary.failed.append((path, reason))

    def handle(self, event: tuple) -> None:
        kind, worker_id = event[0], event[1]
        if kind == 'started':
            self.current[worker_id] = event[2]
            self.bar.set_postfix_str(os.path.basename(self.items[event[2]].input), refresh=False)
        elif kind == 'written':
            index, path, notes = event[2], event[3], event[4]
            self.written[index] = path
            for note in notes:
                self.summary.note(note, self.log)
            self._account(worker_id, index)
        elif kind == 'existing':
            self.summary.existing.append(self.items[event[2]].input)
            self._account(worker_id, event[2])
        elif kind == 'image_failed':
            self._fail(event[2], event[3])
            self._account(worker_id, event[2])
        elif kind == 'warning':
            self.log(f'Warning (worker {worker_id}): {event[2]}')
        elif kind == 'failed':
            raise ImageJobError(f'Worker {worker_id} on {self.devices[worker_id]} could not start: {event[3]}')

    def worker_died(self, worker_id: int, what: str, in_hand: Optional[int]) -> None:
        if in_hand is not None and in_hand not in self.accounted:
            self._fail(in_hand, f'worker {worker_id} died ({what}) while upscaling it')
            self._advance(in_hand)

    def all_exited(self) -> None:
        for index in range(len(self.items)):
            if index not in self.accounted:
                self._fail(index, 'not upscaled: every worker process had exited')
        self.abandoned = True
