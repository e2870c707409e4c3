"""Reading training data (image bytes through BasicSR's ``FileClient``, meta_info files) for the datasets and scripts.

:class:`FileClientDataset` is what the datasets share: the options, the file client made in the worker that reads
first, and reading one image by path or LMDB key.

The datasets read bytes through BasicSR's ``FileClient`` (disk or LMDB) and decode them here, so that a missing,
flaky or corrupt file ends in one clear error naming it instead of a ``NoneType`` traceback deep inside OpenCV.
Plain image files are listed, read and written by :mod:`realesrgan.fileio.images`.
"""

import logging
import os
import time
from typing import Any, Dict, List, Sequence

import cv2
import numpy as np
import torch
from basicsr.utils import FileClient, img2tensor
from torch.utils import data

from realesrgan.fileio.atomic import atomic_output
from realesrgan.fileio.images import decode_buffer

__all__ = [
    'FileClientDataset',
    'read_bytes_with_retry',
    'decode_image_bytes',
    'image_to_tensor',
    'read_meta_info',
    'write_meta_info',
    'make_file_client',
    'require_folder',
    'require_lmdb_folder',
    'require_listed_files',
]

logger = logging.getLogger(__name__)


def read_bytes_with_retry(
    file_client: FileClient, path: str, client_key: str = 'default', attempts: int = 3, wait_s: float = 1.0
) -> bytes:
    """Fetch one file's bytes from a BasicSR ``FileClient``, retrying transient IO errors.

    A file that does not exist (or an LMDB key that is not stored) is reported at once; other IO errors
    (network file systems, busy disks) are retried ``attempts`` times, ``wait_s`` seconds apart.

    Args:
        file_client: A ``basicsr.utils.FileClient`` (disk or lmdb backend).
        path: File path, or LMDB key.
        client_key: LMDB client key (``'gt'``, ``'lq'``); ignored by the disk backend.
        attempts: Number of tries before giving up.
        wait_s: Seconds to wait between tries.

    Returns:
        The file content.

    Raises:
        FileNotFoundError: The file or key does not exist.
        OSError: Reading still failed after ``attempts`` tries.
    """
    if attempts < 1:
        raise ValueError(f'attempts must be at least 1, got {attempts}')
    for attempt in range(1, attempts + 1):
        try:
            content = file_client.get(path, client_key)
        except FileNotFoundError as error:
            raise FileNotFoundError(
                f'Listed {client_key} image "{path}" does not exist. Check the dataroot and '
                'the meta_info file (regenerate it with scripts/generate_meta_info.py).'
            ) from error
        except OSError as error:
            if attempt == attempts:
                raise OSError(f'Reading {client_key} image "{path}" failed {attempts} times: {error}') from error
            logger.warning('Reading %s failed (%s), retry %d/%d in %.1f s', path, error, attempt, attempts - 1, wait_s)
            time.sleep(wait_s)
            continue
        if content is None:
            raise FileNotFoundError(
                f'LMDB key "{path}" is not stored in the {client_key} database. Check that '
                'its meta_info.txt belongs to it (recreate it with scripts/create_lmdb.py).'
            )
        return content


def decode_image_bytes(content: bytes, path: str) -> np.ndarray:
    """Decode image bytes into a 3-channel BGR uint8 array.

    The datasets crop and flip this 8-bit image and convert only the patch to float (:func:`image_to_tensor`),
    which gives the same values as converting first and is cheaper.

    Args:
        content: Encoded image (PNG, JPEG, ...).
        path: Where the bytes came from, for the error message.

    Returns:
        HxWx3 uint8 BGR image (gray images are expanded to 3 channels, 16-bit ones reduced to 8 bits).

    Raises:
        ValueError: The bytes are not a decodable image.
    """
    img = decode_buffer(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(
            f'Cannot decode image "{path}" ({len(content)} bytes): it is truncated or not an image. '
            'Remove it from the dataset or its meta_info file.'
        )
    return img


def image_to_tensor(img: np.ndarray) -> torch.Tensor:
    """Turn an HxWx3 BGR uint8 image into a 3xHxW RGB float32 tensor in [0, 1].

    Args:
        img: BGR uint8 image.

    Returns:
        The tensor (values ``uint8 / 255``, as BasicSR's ``imfrombytes(float32=True)`` gives).
    """
    return img2tensor(img.astype(np.float32) / 255.0, bgr2rgb=True, float32=True)


def require_folder(folder: str, what: str) -> None:
    """Check that a dataset folder exists.

    Args:
        folder: The folder.
        what: Option name shown in the error, e.g. ``'dataroot_gt'``.

    Raises:
        FileNotFoundError: It does not exist or is not a folder.
    """
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f'{what} folder "{folder}" does not exist (or is not a folder). Check the path in '
            'the options file; relative paths are resolved from the current working folder.'
        )


def require_lmdb_folder(folder: str, what: str, advice: str = 'Create one with scripts/create_lmdb.py.') -> None:
    """Check that an LMDB data root exists and is named ``*.lmdb``, as BasicSR's LMDB backend needs.

    Args:
        folder: The folder.
        what: Option name shown in the error, e.g. ``'dataroot_gt'``.
        advice: The end of the error message: what to do.

    Raises:
        ValueError: Its name does not end in ``.lmdb``.
        FileNotFoundError: It does not exist or is not a folder.
    """
    if not str(folder).endswith('.lmdb'):
        raise ValueError(
            f'{what} must be an LMDB folder whose name ends in ".lmdb" when io_backend type is lmdb, but got '
            f'"{folder}". {advice}'
        )
    require_folder(folder, what)


def require_listed_files(paths: Sequence[str], meta_info: str, what: str) -> None:
    """Check, when a dataset is built, that the files its meta_info file lists exist.

    Without this check a missing file is found only when the data loader reaches it, possibly hours into
    training. One ``stat`` per file: a fraction of a second for 100,000 files on a local disk.

    Args:
        paths: The listed files, joined to their data root.
        meta_info: The meta_info file, for the message.
        what: Option name of their data root, e.g. ``'dataroot_gt'``.

    Raises:
        FileNotFoundError: Some do not exist; the first one and their number are named.
    """
    missing = [path for path in paths if not os.path.isfile(path)]
    if missing:
        raise FileNotFoundError(
            f'meta_info file "{meta_info}" lists {len(missing)} of {len(paths)} files that do not '
            f'exist under {what}, e.g. "{missing[0]}". Check {what} in the options file, or '
            'regenerate the list with scripts/generate_meta_info.py '
            '(generate_meta_info_pairdata.py for pairs).'
        )


def read_meta_info(meta_info: str) -> List[str]:
    """Read the non-blank lines of a dataset's meta_info file.

    Args:
        meta_info: Path of the text file.

    Returns:
        Its lines, stripped, blank ones dropped.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: It lists nothing.
    """
    if not os.path.isfile(meta_info):
        raise FileNotFoundError(
            f'meta_info file "{meta_info}" does not exist. Create it with '
            'scripts/generate_meta_info.py (or generate_meta_info_pairdata.py for pairs).'
        )
    with open(meta_info, encoding='utf-8') as fin:
        lines = [line.strip() for line in fin]
    lines = [line for line in lines if line]
    if not lines:
        raise ValueError(f'meta_info file "{meta_info}" is empty: it must list one image per line.')
    return lines


def write_meta_info(path: str, lines: List[str]) -> None:
    """Write a meta_info (or any line-based text) file atomically, creating its folder.

    Args:
        path: Output file.
        lines: Lines without line breaks.
    """
    with atomic_output(path) as partial, open(partial, 'w', encoding='utf-8') as fout:
        fout.writelines(f'{line}\n' for line in lines)


def make_file_client(io_backend_opt: Dict[str, Any]) -> FileClient:
    """Build a BasicSR ``FileClient`` from an ``io_backend`` options dict, leaving the dict untouched.

    Args:
        io_backend_opt: ``{'type': 'disk'}`` or ``{'type': 'lmdb', 'db_paths': [...], 'client_keys': [...]}``.

    Returns:
        The file client.
    """
    kwargs = dict(io_backend_opt)
    return FileClient(kwargs.pop('type'), **kwargs)


class FileClientDataset(data.Dataset):
    """A dataset of images read through BasicSR's ``FileClient`` (disk or LMDB), one per entry of ``paths``.

    Args:
        opt: Dataset options; ``io_backend`` (default ``{'type': 'disk'}``) chooses the backend.
    """

    def __init__(self, opt: Dict[str, Any]) -> None:
        super().__init__()
        self.opt = opt
        self.file_client = None
        self.io_backend_opt = dict(opt.get('io_backend', {'type': 'disk'}))
        self.paths: List[Any] = []

    def read_image(self, path: str, client_key: str) -> np.ndarray:
        """Read and decode one image (see :func:`decode_image_bytes`) by file path or LMDB key.

        Args:
            path: File path, or LMDB key.
            client_key: LMDB client key (``'gt'``, ``'lq'``).
        """
        if self.file_client is None:  # created per worker: LMDB handles cannot be shared across processes
            self.file_client = make_file_client(self.io_backend_opt)
        return decode_image_bytes(read_bytes_with_retry(self.file_client, path, client_key), path)

    def __len__(self) -> int:
        return len(self.paths)
