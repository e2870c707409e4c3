"""Running a planned image job: the engine, and the images upscaled here or in worker processes.

:func:`realesrgan.app.image_job.run_image_job` checks the job and plans its files without importing torch, then calls
:func:`run_planned_job`, which loads the model and does the work.
"""

import os
import queue
from multiprocessing.process import BaseProcess
from typing import Callable, Dict, List, Optional, Sequence, Set

from tqdm import tqdm

from realesrgan.app.face_enhance import require_gfpgan
from realesrgan.app.image_job import ImageCallback, ImageJob, ImageJobError, JobSummary
from realesrgan.app.image_plan import BatchItem, BatchPlan
from realesrgan.app.image_worker import OutputRule, WorkerPayload, describe_failure, prepare_output, run_image_worker
from realesrgan.app.job import job_devices, reported_as
from realesrgan.app.upscaler import ImageUpscaler, UpscalerRecipe, describe_engine
from realesrgan.inference.device import select_device
from realesrgan.inference.precision import resolve_precision
from realesrgan.inference.tiling import TileCallback
from realesrgan.utils import IOConsumer, PrefetchReader
from realesrgan.workers.pool import WorkerWatcher, run_workers

__all__ = ['TILE_BAR_MIN_TILES', 'run_planned_job']

# Tile progress bars are shown for images with at least this many tiles.
TILE_BAR_MIN_TILES = 4
# imported once by the process server, so that each worker starts with them loaded
_WORKER_MODULES = ['realesrgan.app.image_worker', 'realesrgan.app.upscaler']


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


def run_planned_job(
    job: ImageJob,
    plan: BatchPlan,
    log: Callable[[str], None],
    progress: bool,
    on_image: Optional[ImageCallback] = None,
    on_tile: Optional[TileCallback] = None,
) -> JobSummary:
    """Load the engine and upscale the planned images: the second half of :func:`.image_job.run_image_job`.

    Args:
        job: The options.
        plan: The job's images and their outputs; the output folders exist.
        log: Receives the device and precision line, then one line per skipped or failed file, and notes.
        progress: Show progress bars.
        on_image: Called with (images done, images in all); see :func:`.image_job.run_image_job`.
        on_tile: Called with (tiles done, tiles in all) of the current image, when there is one worker.

    Returns:
        What was written, what was there already, and what failed.

    Raises:
        ImageJobError: Unknown model or device, missing weights, GFPGAN unavailable, or a worker could not start.
    """
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
    for output, problem in plan.damaged:
        log(f'Redoing {output}: the existing file is {problem} (--skip_existing keeps only whole outputs).')
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
