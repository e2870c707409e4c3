"""Outputs at a URI (``-o file:///shared/out``, ``-o s3://bucket/out``): what a cluster's workers write to when
the nodes share no folder.

``file://`` is a local path and is written as any folder. Other schemes go through the filesystems installed here:
``pyarrow.fs`` first (S3, GCS, HDFS, ...: ``FileSystem.from_uri``), then ``fsspec`` (``s3fs``, ``gcsfs``, ``adlfs``,
``memory``, ...). A file is encoded locally under a temporary name, then uploaded in one piece, so an object
store never shows a half-written output (stores that are plain filesystems, such as HDFS, may show it while it is
copied). Only the writing side is here: inputs are read from paths every worker sees.
"""

import os
import re
import shutil
import tempfile
from typing import Any, Callable, Tuple, TypeVar
from urllib.parse import unquote, urlparse

__all__ = ['exists', 'is_remote', 'local_path', 'make_folder', 'open_filesystem', 'write_through']

_SCHEME = re.compile(r'^([A-Za-z][A-Za-z0-9+.-]*)://')
Result = TypeVar('Result')


def _scheme(location: str) -> str:
    match = _SCHEME.match(location)
    return match.group(1).lower() if match else ''


def is_remote(location: str) -> bool:
    """Whether ``location`` is a URI of another filesystem than this machine's (anything but a path or file://)."""
    return _scheme(location) not in ('', 'file')


def local_path(location: str) -> str:
    """The path of a ``file://`` URI (``file:///data/out`` -> ``/data/out``); anything else unchanged."""
    if _scheme(location) != 'file':
        return location
    return unquote(urlparse(location).path)


def open_filesystem(uri: str) -> Tuple[Any, str]:
    """The filesystem of ``uri`` and the path inside it: ``pyarrow.fs`` when it knows the scheme, else ``fsspec``.

    Raises:
        ValueError: Neither knows the scheme (or its package is missing), or the location is malformed.
    """
    try:
        from pyarrow import fs as arrow_fs

        return arrow_fs.FileSystem.from_uri(uri)
    except Exception:  # noqa: BLE001 (not installed, or a scheme pyarrow does not know: fsspec may)
        pass
    try:
        import fsspec

        return fsspec.core.url_to_fs(uri)
    except Exception as error:  # noqa: BLE001 (said in one line: what to install)
        detail = ' '.join(str(error).split())[:200]
        raise ValueError(
            f'no installed filesystem writes {uri} ({detail}): install pyarrow, or fsspec with the package of '
            f'{_scheme(uri)}:// (e.g. s3fs), or give a folder every node sees'
        ) from None


def _is_arrow(filesystem: Any) -> bool:
    return type(filesystem).__module__.startswith('pyarrow')


def make_folder(uri: str) -> None:
    """Create the folder ``uri`` (and its parents) where the filesystem has folders.

    Raises:
        ValueError: See :func:`open_filesystem`.
        OSError: It cannot be created.
    """
    filesystem, path = open_filesystem(uri)
    if _is_arrow(filesystem):
        filesystem.create_dir(path, recursive=True)
    else:
        filesystem.makedirs(path, exist_ok=True)


def exists(uri: str) -> bool:
    """Whether a file is at ``uri``."""
    filesystem, path = open_filesystem(uri)
    if _is_arrow(filesystem):
        from pyarrow import fs as arrow_fs

        return filesystem.get_file_info(path).type == arrow_fs.FileType.File
    return bool(filesystem.isfile(path))


def write_through(uri: str, write: Callable[[str], Result]) -> Result:
    """Have ``write`` make the file locally (given a temporary path with the same name), then upload it to ``uri``.

    Args:
        uri: Where the file goes.
        write: Writes the file at the path it is given; its result is returned.

    Raises:
        OSError: The upload failed (nothing is left under ``uri`` by an object store).
    """
    filesystem, path = open_filesystem(uri)
    folder = tempfile.mkdtemp(prefix='realesrgan-upload-')
    try:
        local = os.path.join(folder, os.path.basename(path))
        result = write(local)
        with open(local, 'rb') as source:
            if _is_arrow(filesystem):
                with filesystem.open_output_stream(path) as target:
                    shutil.copyfileobj(source, target)
            else:
                with filesystem.open(path, 'wb') as target:
                    shutil.copyfileobj(source, target)
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)
