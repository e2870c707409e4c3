"""One image of an image job, from its decoded pixels to its output file; and the worker process that does many.

:func:`prepare_output` is what every image goes through, in the job's own process or in a worker process: the
output name is confirmed against the decoded image (alpha makes PNG), the image is upscaled, 16-bit results meant
for JPEG or WebP become 8-bit, and the input's metadata is adapted to the output. :func:`run_image_worker` is the
body of a worker process (see :func:`realesrgan.workers.pool.run_workers`): it builds its upscaler on its device
and upscales the images named on its task queue, reporting each on the event queue:
``('started', worker, index)``, then ``('written', worker, index, path, notes)``, ``('existing', worker, index)``
or ``('image_failed', worker, index, reason)``; ``('failed', worker, None, message)`` when it cannot start.
"""

import os
from dataclasses import dataclass
from multiprocessing.queues import Queue
from typing import Callable, Dict, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from realesrgan.app.image_plan import BatchItem, output_path
from realesrgan.app.upscaler import ImageUpscaler
from realesrgan.fileio.complete import image_file_problem
from realesrgan.fileio.formats import save_image, to_format_depth
from realesrgan.fileio.images import read_image
from realesrgan.fileio.metadata import ImageMetadata, read_metadata
from realesrgan.inference.tile_runner import TileCallback
from realesrgan.workers.child import describe_exception, worker_process

__all__ = ['OutputRule', 'PreparedOutput', 'WorkerPayload', 'describe_failure', 'prepare_output', 'run_image_worker']

EIGHT_BIT_NOTE = '16-bit results are written as 8-bit JPEG / WebP (8-bit formats); --ext png or tif keeps 16 bits.'
UNREADABLE_METADATA_NOTE = 'the metadata of some inputs could not be read: their outputs are written without it.'


@dataclass(frozen=True)
class OutputRule:
    """How a job names and writes its outputs (picklable: every worker process gets it).

    Attributes:
        folder: The output folder (``-o``).
        suffix: Added to the output names.
        ext: ``'auto'`` or an output format.
        root: The input folder whose sub-folders are mirrored, or None.
        quality: JPEG / WebP quality, or None for OpenCV's defaults.
        keep_metadata: Copy EXIF, ICC profile, PNG text and DPI from each input to its output.
        skip_existing: Leave an output that exists alone.
        claimed: Real path of every planned output, and the input it belongs to.
    """

    folder: str
    suffix: str
    ext: str
    root: Optional[str]
    quality: Optional[int]
    keep_metadata: bool
    skip_existing: bool
    claimed: Dict[str, str]


class PreparedOutput(NamedTuple):
    """An upscaled image ready to be written by :func:`realesrgan.fileio.formats.save_image`."""

    path: str
    image: np.ndarray
    metadata: Optional[ImageMetadata]
    notes: Tuple[str, ...]


def describe_failure(error: BaseException) -> str:
    """One line that says why an image failed (OpenCV and torch messages span several lines)."""
    text = ' '.join(str(error).split())
    if isinstance(error, (ValueError, RuntimeError, MemoryError)) and text:
        return text
    return f'{type(error).__name__}: {text}' if text else type(error).__name__


def _confirmed_path(item: BatchItem, image: np.ndarray, rule: OutputRule) -> str:
    """The planned output path, or the one the decoded image calls for when its header told its alpha wrongly."""
    alpha = image.ndim == 3 and image.shape[2] == 4
    if alpha == item.alpha:
        return item.output
    path = output_path(item.input, rule.folder, rule.suffix, rule.ext, 'RGBA' if alpha else None, rule.root)
    owner = rule.claimed.get(os.path.realpath(path))
    if owner is not None and owner != item.input:
        raise ValueError(f'its output {path} is already the output of {owner}')
    return path


def _output_metadata(input_path: str, output: np.ndarray, source: np.ndarray) -> Tuple[Optional[ImageMetadata], str]:
    try:
        metadata = read_metadata(input_path)
    except Exception:  # noqa: BLE001 (Pillow raises many kinds for damaged headers; the pixels are still written)
        return None, UNREADABLE_METADATA_NOTE
    height, width = output.shape[:2]
    return metadata.for_output(width, height, width / source.shape[1]), ''


def prepare_output(
    item: BatchItem,
    image: np.ndarray,
    upscale: ImageUpscaler,
    rule: OutputRule,
    on_tile: Optional[TileCallback] = None,
) -> Optional[PreparedOutput]:
    """Upscale one decoded image and prepare what is written for it.

    Args:
        item: The image and its planned output.
        image: Its pixels, as :func:`realesrgan.fileio.images.read_image` decodes them.
        upscale: The job's upscaler.
        rule: How outputs are named and written.
        on_tile: Called with (tiles done, tiles in all) after each batch of tiles.

    Returns:
        The output, or None when its output exists already (``skip_existing``, under the name the decoded image
        calls for).

    Raises:
        ValueError: Its output is another input's (alpha seen only in the pixels), or it cannot be upscaled.
        MemoryError: Its output would not fit in memory.
    """
    path = _confirmed_path(item, image, rule)
    if path != item.output and rule.skip_existing and os.path.exists(path) and image_file_problem(path) is None:
        return None
    output, converted = to_format_depth(upscale(image, on_tile=on_tile), path)
    notes = [EIGHT_BIT_NOTE] if converted else []
    metadata = None
    if rule.keep_metadata:
        metadata, note = _output_metadata(item.input, output, image)
        notes += [note] if note else []
    return PreparedOutput(path, output, metadata, tuple(notes))


@dataclass(frozen=True)
class WorkerPayload:
    """What every image worker process gets: the images, how to write them, how to build the upscaler.

    Attributes:
        items: The images of the job.
        rule: How outputs are named and written.
        make_upscaler: Builds the upscaler on a device (an :class:`~realesrgan.app.upscaler.UpscalerRecipe`).
    """

    items: Sequence[BatchItem]
    rule: OutputRule
    make_upscaler: Callable[[str], ImageUpscaler]


def run_image_worker(
    worker_id: int, device: str, num_threads: int, payload: WorkerPayload, tasks: Queue, events: Queue
) -> None:
    """Process entry point: upscale the images whose indices arrive on ``tasks`` until ``None`` arrives.

    Args:
        worker_id: Number of this worker, for its events.
        device: Torch device of its upscaler.
        num_threads: CPU threads for torch in this process (0 leaves torch's default).
        payload: The job.
        tasks: Indices into ``payload.items``, then ``None``.
        events: Where each image is reported.
    """
    with worker_process(worker_id, events, num_threads):
        try:
            upscale = payload.make_upscaler(device)
        except BaseException as exc:  # noqa: B036 -- reported to the job, which stops
            events.put(('failed', worker_id, None, describe_exception(exc)))
            return
        while True:
            index = tasks.get()
            if index is None:
                return
            events.put(('started', worker_id, index))
            item = payload.items[index]
            try:
                prepared = prepare_output(item, read_image(item.input), upscale, payload.rule)
                if prepared is None:
                    events.put(('existing', worker_id, index))
                    continue
                note = save_image(prepared.path, prepared.image, payload.rule.quality, prepared.metadata)
                events.put(('written', worker_id, index, prepared.path, prepared.notes + ((note,) if note else ())))
            except Exception as error:  # noqa: BLE001 (one image fails, with its reason; the batch goes on)
                events.put(('image_failed', worker_id, index, describe_failure(error)))
