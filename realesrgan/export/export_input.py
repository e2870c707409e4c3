"""What the export scripts (``scripts/pytorch2onnx.py``, ``scripts/pytorch2ncnn.py``) take as ``--input`` and
``--output``: a checkpoint file or an official model name, and an output location checked before any work."""

import os
from typing import Optional, Tuple

from realesrgan.fileio.atomic import check_writable
from realesrgan.zoo import MODEL_ZOO, get_model_spec, resolve_model_path

__all__ = ['check_output', 'resolve_input']


def resolve_input(name_or_path: str, weights_dir: Optional[str], download: bool = True) -> Tuple[str, Optional[float]]:
    """The checkpoint file of ``--input`` and the default output scale of an official name (e.g. 2 for
    realesr-animevideov3-x2; None for a file).

    Args:
        name_or_path: A checkpoint file or an official model name.
        weights_dir: Where official weights are cached (None for the default location).
        download: Download official weights that are not cached.

    Raises:
        FileNotFoundError: Neither a file nor an official name; a missing file named like an official model gets
            the hint to give the name instead (which finds or downloads its weights).
    """
    if os.path.isfile(name_or_path):
        return name_or_path, None
    if name_or_path in MODEL_ZOO:
        spec = get_model_spec(name_or_path)
        return resolve_model_path(spec.name, weights_dir, download=download), spec.outscale
    stem = os.path.splitext(os.path.basename(name_or_path))[0]
    if stem in MODEL_ZOO:
        raise FileNotFoundError(
            f'--input {name_or_path} not found; {stem} is an official model: give --input {stem} to use its '
            'weights (downloaded once into the weights folder when missing)'
        )
    raise FileNotFoundError(
        f'--input {name_or_path} not found: give a checkpoint file or an official model name ({", ".join(MODEL_ZOO)})'
    )


def check_output(path: str) -> None:
    """Check before the export that ``--output`` can be written.

    Raises:
        OSError: It cannot; the message names ``--output`` and says what to do.
    """
    try:
        check_writable(path)
    except OSError as error:
        raise type(error)(f'--output: {error}; choose another location') from None
