"""The image job's options (:class:`ImageJob`, the flags of ``inference_realesrgan.py``), its errors and its summary.

:func:`realesrgan.batch.run.run_image_job` runs it.
"""

from dataclasses import dataclass, field
from typing import Callable, ClassVar, List, Optional, Tuple, Type

from realesrgan.batch.plan import EXTENSIONS
from realesrgan.execution.job import JobSetupError, UpscaleJob
from realesrgan.inference.settings import SettingError

__all__ = ['ImageCallback', 'ImageJob', 'ImageJobError', 'JobSummary']

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
        super().__post_init__()
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
