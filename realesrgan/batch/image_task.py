"""One image of an image job, from its file to its output file: the :class:`ImageTask` an executor runs.

:func:`prepare_output` is what every image goes through, wherever it runs: the output name is confirmed against the
decoded image (alpha makes PNG), the image is upscaled, 16-bit results meant for JPEG or WebP become 8-bit, and the
input's metadata is adapted to the output. :class:`ImageTask` reads the file, runs that and writes the result
atomically; its value is an :class:`ImageOutcome`.
"""

import os
from dataclasses import dataclass
from typing import Dict, NamedTuple, Optional, Tuple

import numpy as np

from realesrgan.batch.plan import BatchItem, output_path
from realesrgan.execution.executor import Report, Task
from realesrgan.execution.remote_files import is_remote, write_through
from realesrgan.fileio.complete import image_file_problem
from realesrgan.fileio.formats import save_image, to_format_depth
from realesrgan.fileio.images import read_image
from realesrgan.fileio.metadata import ImageMetadata, read_metadata
from realesrgan.inference.recipe import ImageUpscaler
from realesrgan.inference.tile_runner import TileCallback

__all__ = ['ImageOutcome', 'ImageTask', 'OutputRule', 'PreparedOutput', 'prepare_output']

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


class ImageOutcome(NamedTuple):
    """What became of one image: its output file (None: it existed already, ``skip_existing``) and notes."""

    path: Optional[str]
    notes: Tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageTask(Task):
    """Read an image, upscale it and write its output (picklable: every worker gets it).

    Attributes:
        rule: How outputs are named and written.
    """

    rule: OutputRule

    def load(self, item: BatchItem) -> np.ndarray:
        """The decoded pixels of ``item``'s file."""
        return read_image(item.input)

    def run(
        self, upscaler: ImageUpscaler, item: BatchItem, loaded: np.ndarray, report: Report
    ) -> Optional[PreparedOutput]:
        """The output of ``item``, or None when it exists already; reports ``(tiles done, tiles in all)``."""
        return prepare_output(item, loaded, upscaler, self.rule, on_tile=lambda done, total: report((done, total)))

    def store(self, item: BatchItem, result: Optional[PreparedOutput]) -> ImageOutcome:
        """Write the output atomically."""
        if result is None:
            return ImageOutcome(None)
        try:
            if is_remote(result.path):  # -o at a URI: encoded here, then uploaded in one piece
                note = write_through(
                    result.path, lambda local: save_image(local, result.image, self.rule.quality, result.metadata)
                )
            else:
                note = save_image(result.path, result.image, self.rule.quality, result.metadata)
        except OSError as error:
            raise OSError(f'could not write {result.path}: {error.strerror or error}') from error
        return ImageOutcome(result.path, result.notes + ((note,) if note else ()))
