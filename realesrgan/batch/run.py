"""Upscale an image file or a folder of images: :func:`run_image_job`, the engine behind ``inference_realesrgan.py``.

Everything that can be checked before the first image is checked first, without loading torch (arguments, inputs and
their output names, output folder), then the model, weights, GFPGAN and devices, each with a message that says what
to do (:class:`~realesrgan.batch.job.ImageJobError`). The images then go to an executor as :class:`ImageTask` items:
here with one device (the next image read and the last one written while this one is upscaled), in one worker
process per device with several. A file that cannot be read, upscaled or written is skipped with a one-line reason
and listed in the :class:`~realesrgan.batch.job.JobSummary`. Outputs are written atomically, so a job that is killed
can be finished by running it again with ``skip_existing``.
"""

import logging
import os
import tempfile
from dataclasses import replace
from typing import Any, Callable, List, Optional, Sequence, Tuple

from tqdm import tqdm

from realesrgan.batch.job import ImageCallback, ImageJob, ImageJobError, JobSummary
from realesrgan.batch.plan import BatchItem, BatchPlan, InputError
from realesrgan.batch.plan import plan_batch as plan_files
from realesrgan.execution.executor import Executor, ItemResult, Listener
from realesrgan.execution.job import reported_as
from realesrgan.execution.remote_files import exists as remote_exists
from realesrgan.execution.remote_files import is_remote, local_path, make_folder
from realesrgan.fileio.atomic import remove_stale_partials
from realesrgan.inference.tiling import TileCallback

__all__ = ['TILE_BAR_MIN_TILES', 'plan_batch', 'run_image_job']

logger = logging.getLogger(__name__)

# Tile progress bars are shown for images with at least this many tiles.
TILE_BAR_MIN_TILES = 4


def plan_batch(job: ImageJob) -> BatchPlan:
    """The images of ``job`` and their outputs (see :func:`realesrgan.batch.plan.plan_batch`).

    Raises:
        ImageJobError: No input, two inputs with one output name, or an output over an input.
    """
    try:
        return plan_files(job.input, job.output, job.suffix, job.ext, job.recursive, job.skip_existing)
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
    _remove_partials(folder, plan)


def _remote_output(job: ImageJob, plan: BatchPlan) -> BatchPlan:
    """Check and create the output folder at a URI (``-o s3://...``); ``skip_existing`` asks that filesystem.

    Raises:
        ImageJobError: No installed filesystem knows the URI, or the folder cannot be made there.
    """
    try:
        make_folder(job.output)
        if not job.skip_existing:
            return plan
        there = [remote_exists(item.output) for item in plan.items]
    except (ValueError, OSError) as error:
        raise ImageJobError(f'Cannot write to {job.output} ({" ".join(str(error).split())}); check -o.') from None
    to_do = tuple(item for item, found in zip(plan.items, there) if not found)
    existing = tuple(item for item, found in zip(plan.items, there) if found)
    return plan._replace(items=to_do, existing=plan.existing + existing)


def _remove_partials(folder: str, plan: BatchPlan) -> None:
    """Remove the temporary files that killed writers left in the output folders."""
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
    job = replace(job, output=local_path(job.output))  # file:// is a folder here
    plan = plan_batch(job)
    if is_remote(job.output):
        plan = _remote_output(job, plan)
    else:
        _prepare_output_folders(job.output, plan)
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
    # the engine (torch, BasicSR, the model) loads only now: input and option errors above answer at once
    from realesrgan.batch.image_task import ImageTask, OutputRule
    from realesrgan.execution.executor import InProcessExecutor, Work, WorkerStartError
    from realesrgan.execution.job import job_devices
    from realesrgan.inference.face_enhance import require_gfpgan
    from realesrgan.inference.recipe import UpscalerRecipe

    with reported_as(ImageJobError):
        devices = None if job.ray is not None else job_devices(job.settings, job.num_process_per_gpu)[: len(plan.items)]
        choice = job.choose_model()
        if job.face_enhance:
            require_gfpgan()
        recipe = UpscalerRecipe(choice, job.settings, job.face_enhance, job.weights_dir)
        executor, devices = _choose_executor(job, devices, len(plan.items), log)
        log(_describe_engine(recipe, devices[0], job.ray is not None))
    rule = OutputRule(
        job.output, job.suffix, job.ext, plan.root, job.quality, not job.strip_metadata, job.skip_existing, plan.claimed
    )
    here = isinstance(executor, InProcessExecutor)  # tile progress only from an upscaler in this process
    listener = _ImageListener(plan.items, summary, log, progress and here, on_image, on_tile if here else None)
    try:
        with tqdm(total=len(plan.items), unit='image', disable=not progress) as listener.bar:
            if on_image is not None:
                on_image(0, len(plan.items))
            try:
                results = executor.run(Work(recipe, ImageTask(rule)), plan.items, listener)
            except WorkerStartError as error:
                if here:  # built here: said as any other setup error
                    with reported_as(ImageJobError):
                        raise error.__cause__ from None
                raise ImageJobError(
                    f'Worker {error.worker} on {error.device} could not start: {error.detail}'
                ) from None
            finally:
                listener.close_tile_bar()
    finally:
        if job.ray is not None:
            executor.close()
            _remove_partials(job.output, plan)  # of Ray workers killed while writing (this machine's folders)
    if job.ray is not None:
        log(executor.describe_placements())
    # the outputs in the order of the inputs, whichever worker was faster
    summary.written.extend(result.value.path for result in results if result.ok and result.value.path is not None)
    return summary


def _choose_executor(
    job: ImageJob, devices: Optional[Sequence[str]], num_items: int, log: Callable[[str], None]
) -> Tuple[Executor, List[str]]:
    """Where the images run: on Ray (``job.ray``), in this process (one device), or in the local process pool.

    Args:
        job: The options.
        devices: The local workers' devices (None on Ray, whose workers' devices its cluster tells).
        num_items: How many images there are (no more workers than that).
        log: Receives the line that says where the workers are.

    Returns:
        The executor, and the device of each of its workers.

    Raises:
        ValueError: Ray is missing, its cluster cannot be reached or has no device for the workers.
    """
    from realesrgan.execution.executor import InProcessExecutor

    if job.ray is not None:
        from realesrgan.execution.ray_executor import RayExecutor

        executor = RayExecutor(job.ray, job.settings.device, job.num_process_per_gpu, max_workers=num_items)
        executor.connect()
        log(f'{executor.describe()}.')
        return executor, executor.devices
    if len(devices) == 1:
        return InProcessExecutor(devices[0]), list(devices)
    from realesrgan.execution.local_pool import LocalPoolExecutor

    log(f'{len(devices)} worker processes on {", ".join(sorted(set(devices)))}.')
    return LocalPoolExecutor(devices, name='realesrgan-image-worker'), list(devices)


def _describe_engine(recipe: Any, device: str, on_ray: bool) -> str:
    """The device and precision line; for Ray GPU workers, which this machine may lack, without the precision."""
    if on_ray and device != 'cpu':
        return f'Upscaling on the GPUs of the Ray cluster (--precision {recipe.settings.precision}).'
    return recipe.describe(device)


class _ImageListener(Listener):
    """Takes the images' results into the summary and the progress bars (and the caller's callbacks).

    Args:
        items: The planned images.
        summary: Where results go.
        log: Receives one line per failed image and each note once.
        tile_bars: Show a tile progress bar for images with many tiles.
        on_image: The caller's image callback, or None.
        on_tile: The caller's tile callback, or None.
    """

    def __init__(
        self,
        items: Sequence[BatchItem],
        summary: JobSummary,
        log: Callable[[str], None],
        tile_bars: bool,
        on_image: Optional[ImageCallback],
        on_tile: Optional[TileCallback],
    ) -> None:
        self.items, self.summary, self.log = items, summary, log
        self.tile_bars, self.on_image, self.on_tile = tile_bars, on_image, on_tile
        self.bar: Optional[tqdm] = None
        self.tile_bar: Optional[tqdm] = None
        self.done = 0

    def started(self, index: int, worker: int) -> None:
        self.bar.set_postfix_str(os.path.basename(self.items[index].input), refresh=False)
        self.close_tile_bar()

    def progress(self, index: int, payload: Any) -> None:
        done, total = payload
        if self.on_tile is not None:
            self.on_tile(done, total)
        if not self.tile_bars or total < TILE_BAR_MIN_TILES:
            return
        if self.tile_bar is None or done < self.tile_bar.n:
            self.close_tile_bar()
            self.tile_bar = tqdm(total=total, unit='tile', leave=False, position=1)
        self.tile_bar.update(done - self.tile_bar.n)

    def close_tile_bar(self) -> None:
        """Close the tile bar of the last image, if one is open."""
        if self.tile_bar is not None:
            self.tile_bar.close()
            self.tile_bar = None

    def finished(self, result: ItemResult) -> None:
        path = self.items[result.index].input
        if result.ok:
            if result.value.path is None:
                self.summary.existing.append(path)
            for note in result.value.notes:
                self.summary.note(note, self.log)
        else:
            failure = result.failure
            reason = {
                'died': f'worker {failure.worker} died ({failure.message}) while upscaling it',
                'abandoned': f'not upscaled: {failure.message}',
            }.get(failure.kind, failure.message)
            self.log(f'Failed {path}: {reason}')
            self.summary.failed.append((path, reason))
        self.done += 1
        self.bar.update()
        if self.on_image is not None:
            self.on_image(self.done, len(self.items))

    def warning(self, worker: int, message: str) -> None:
        self.log(f'Warning (worker {worker}): {message}')
