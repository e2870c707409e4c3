"""Which images an image job upscales, and where each output goes: decided and checked before any work.

The inputs are a file, the images of a folder, or (``--recursive``) every image under a folder, outputs then in
the same relative sub-folders. Each output is named ``<name>_<suffix>.<ext>`` as the original names them: ``auto``
keeps the input's extension, and images with alpha become PNG (unless written as WebP or TIFF, which keep alpha).
Whether an image has alpha is read from its header (Pillow, no decoding). Two inputs that would write one output,
or an output that would overwrite an input, are refused before any work; with ``--skip_existing`` the inputs
whose output exists are set aside.
"""

import os
from typing import Dict, FrozenSet, List, NamedTuple, Optional, Sequence, Tuple

from realesrgan.fileio.complete import image_file_problem
from realesrgan.fileio.images import IMAGE_EXTENSIONS
from realesrgan.fileio.metadata import open_header

__all__ = [
    'ALPHA_FORMATS',
    'EXTENSIONS',
    'BatchItem',
    'BatchPlan',
    'InputError',
    'collect_inputs',
    'decodes_with_alpha',
    'output_path',
    'plan_batch',
]

EXTENSIONS = ('auto', 'jpg', 'png', 'webp', 'tif')
# Output formats that keep an alpha channel when asked for by --ext (auto gives PNG to alpha, as the original).
ALPHA_FORMATS = ('png', 'webp', 'tif')


class InputError(ValueError):
    """The inputs or outputs of a job are not usable; the message says what to do."""


class BatchItem(NamedTuple):
    """One image to upscale: its file, its output file, and whether its header says it has alpha."""

    input: str
    output: str
    alpha: bool


class BatchPlan(NamedTuple):
    """What a job will do.

    Attributes:
        items: The images to upscale, in order.
        existing: The images whose output exists already (``--skip_existing``), not upscaled again.
        not_images: ``(path, reason)`` of the files that are not images.
        claimed: Real path of every planned output, and the input it belongs to.
        root: The input folder (outputs keep their paths relative to it), or None for a single file.
        damaged: ``(output, problem)`` of the outputs found empty or cut short (``--skip_existing``): redone.
    """

    items: Tuple[BatchItem, ...]
    existing: Tuple[BatchItem, ...]
    not_images: Tuple[Tuple[str, str], ...]
    claimed: Dict[str, str]
    root: Optional[str]
    damaged: Tuple[Tuple[str, str], ...] = ()

    @property
    def output_folders(self) -> FrozenSet[str]:
        """Every folder an output goes to."""
        return frozenset(os.path.dirname(item.output) for item in self.items + self.existing)


def _visible_files(folder: str, recursive: bool, exclude: Sequence[str]) -> List[str]:
    """The files of ``folder`` (and, recursively, of its sub-folders), sorted, hidden ones and ``exclude`` left out."""
    excluded = {os.path.realpath(path) for path in exclude}
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(
            name
            for name in dirs
            if not name.startswith('.') and os.path.realpath(os.path.join(root, name)) not in excluded
        )
        found += [
            os.path.join(root, name)
            for name in sorted(files)
            if not name.startswith('.') and os.path.isfile(os.path.join(root, name))
        ]
        if not recursive:
            break
    return found


def collect_inputs(
    path: str, recursive: bool = False, exclude: Sequence[str] = ()
) -> Tuple[List[str], List[Tuple[str, str]]]:
    """The images to upscale: ``path`` itself, or the files of the folder ``path`` (sorted).

    Hidden files and folders are ignored; files whose extension is not an image format are returned as skipped,
    with the reason (images that cannot be decoded are found later, when they are read).

    Args:
        path: An image file or a folder.
        recursive: Also take the files of every sub-folder.
        exclude: Folders left out (the output folder, when it lies inside the input folder).

    Returns:
        The image paths and the ``(path, reason)`` of the skipped files.

    Raises:
        InputError: ``path`` does not exist, or is a folder without files.
    """
    if not os.path.exists(path):
        raise InputError(f'Input "{path}" does not exist: give an image file or a folder of images with -i.')
    if os.path.isfile(path):
        return [path], []
    if not os.path.isdir(path):
        raise InputError(
            f'Input "{path}" is neither an image file nor a folder (a device or a pipe?): give an '
            'image file or a folder of images with -i.'
        )
    files = _visible_files(path, recursive, exclude)
    if not files:
        where = ' or its sub-folders' if recursive else ''
        raise InputError(
            f'Input folder "{path}"{where} holds no files: put images in it or give another folder with -i.'
        )
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


def output_path(
    input_path: str,
    output_folder: str,
    suffix: str,
    ext: str,
    img_mode: Optional[str],
    root: Optional[str] = None,
) -> str:
    """``<output_folder>/<name>_<suffix>.<ext>`` as the original names outputs; alpha images as PNG.

    Args:
        input_path: The input image.
        output_folder: Folder of the outputs.
        suffix: Added to the name; empty for none.
        ext: ``'auto'`` (the input's extension) or one of :data:`EXTENSIONS`.
        img_mode: ``'RGBA'`` for images with alpha (PNG, unless ``ext`` is a format that keeps alpha), else
            anything.
        root: The input folder whose sub-folders are mirrored under ``output_folder``; None for none.

    Returns:
        The output path.
    """
    name, extension = os.path.splitext(os.path.basename(input_path))
    extension = (extension[1:] or 'png') if ext == 'auto' else ext
    if img_mode == 'RGBA' and (ext == 'auto' or ext not in ALPHA_FORMATS):
        extension = 'png'
    if root is not None:
        relative = os.path.relpath(os.path.dirname(os.path.abspath(input_path)), os.path.abspath(root))
        if relative != os.curdir:
            output_folder = os.path.join(output_folder, relative)
    return os.path.join(output_folder, f'{name}_{suffix}.{extension}' if suffix else f'{name}.{extension}')


def _name_depends_on_alpha(input_path: str, ext: str) -> bool:
    """Whether alpha changes the output name (only then is the header read)."""
    if ext == 'auto':
        return os.path.splitext(input_path)[1].lower() != '.png'
    return ext not in ALPHA_FORMATS


def decodes_with_alpha(path: str) -> bool:
    """Whether OpenCV will read ``path`` with an alpha channel, told from its header (Pillow reads no pixels).

    OpenCV gives four channels to PNG images with alpha or a transparent colour, and to RGBA WebP, TIFF and BMP
    images; gray TIFF images with alpha come out gray. An unreadable header counts as no alpha (the read of the
    pixels then says what is wrong).
    """
    try:
        with open_header(path) as image:  # a damaged EXIF block is reported once, with the metadata
            mode, fmt, transparent = image.mode, image.format, 'transparency' in image.info
    except Exception:  # noqa: BLE001 (not an image Pillow knows: decided when OpenCV reads it)
        return False
    if fmt in ('TIFF', 'BMP'):
        return mode in ('RGBA', 'RGBa')
    return mode in ('RGBA', 'RGBa', 'LA', 'La', 'PA') or (mode in ('P', 'RGB') and transparent)


def plan_batch(
    input_path: str,
    output_folder: str,
    suffix: str,
    ext: str,
    recursive: bool = False,
    skip_existing: bool = False,
) -> BatchPlan:
    """Find the images, name their outputs, and check the names, before any work.

    Args:
        input_path: An image file or a folder (``-i``).
        output_folder: Folder of the outputs (``-o``).
        suffix: Added to the output names.
        ext: ``'auto'`` or one of :data:`EXTENSIONS`.
        recursive: Take every image under the folder, outputs in the same relative sub-folders.
        skip_existing: Set aside the images whose output exists.

    Returns:
        The plan.

    Raises:
        InputError: No input, two inputs with one output name (naming both), or an output over an input.
    """
    # outputs inside the input folder are not inputs of a later run (unless they lie beside the inputs)
    distinct = os.path.realpath(output_folder) != os.path.realpath(input_path)
    paths, not_images = collect_inputs(input_path, recursive, exclude=[output_folder] if distinct else [])
    root = input_path if os.path.isdir(input_path) else None
    inputs = {os.path.realpath(path): path for path in paths}
    claimed: Dict[str, str] = {}
    items, existing, damaged = [], [], []
    for path in paths:
        alpha = _name_depends_on_alpha(path, ext) and decodes_with_alpha(path)
        planned = output_path(path, output_folder, suffix, ext, 'RGBA' if alpha else None, root)
        real = os.path.realpath(planned)
        if real in inputs:
            raise InputError(
                f'The output of "{path}" would overwrite the input "{inputs[real]}": choose another '
                'folder with -o or a --suffix.'
            )
        if real in claimed:
            raise InputError(
                f'"{claimed[real]}" and "{path}" would both be written to "{planned}": rename one '
                'of them, or keep their formats apart with --ext auto.'
            )
        claimed[real] = path
        item = BatchItem(path, planned, alpha)
        problem = _existing_output_problem(planned) if skip_existing else 'not asked'
        (existing if problem is None else items).append(item)
        if skip_existing and problem not in (None, 'missing'):
            damaged.append((planned, problem))
    return BatchPlan(tuple(items), tuple(existing), tuple(not_images), claimed, root, tuple(damaged))


def _existing_output_problem(path: str) -> Optional[str]:
    """None when ``path`` holds a whole image (``--skip_existing`` leaves it), else ``'missing'`` or what is wrong."""
    return image_file_problem(path) if os.path.exists(path) else 'missing'
