"""The one temporary folder of a web server: uploads, job folders and Gradio's file cache, removed on exit.

Everything the page receives or produces lives under :attr:`Workspace.root`: Gradio keeps uploads and the copies of
the files it serves in ``root/gradio`` (its ``GRADIO_TEMP_DIR``), each job works in a folder of its own under
``root/jobs``. Gradio serves only the files it put in its cache itself, so no other file of the machine can be
downloaded through the page; a job folder is removed when its job is cancelled or fails, and the whole root when the
server stops. A server killed outright (SIGKILL) cannot remove its root: the root holds the server's owner record
(:mod:`realesrgan.fileio.owner`), and the next server started on the same parent folder removes the roots whose
server is gone.
"""

import itertools
import logging
import os
import shutil
import tempfile
import threading
from typing import List, Optional, Sequence

from realesrgan.fileio.owner import OWNER_FILE, owner_gone, owner_record, read_owner, write_owner

__all__ = ['PREFIX', 'Workspace', 'remove_stale_workspaces', 'shorten_paths']

logger = logging.getLogger(__name__)

PREFIX = 'realesrgan-web-'
"""Name prefix of a server's temporary folder."""


def remove_stale_workspaces(parent: Optional[str] = None) -> List[str]:
    """Remove the temporary folders that killed servers left in ``parent`` (the system's temporary folder for None).

    Only folders named like a server's, whose owner record names a process of this host that no longer runs.

    Returns:
        The folders removed.
    """
    parent = parent or tempfile.gettempdir()
    removed = []
    try:
        names = [name for name in os.listdir(parent) if name.startswith(PREFIX)]
    except OSError:
        return removed
    for name in sorted(names):
        folder = os.path.join(parent, name)
        owner = read_owner(os.path.join(folder, OWNER_FILE))
        if os.path.isdir(folder) and owner_gone(owner):
            logger.info('removing %s, left by a web server that was killed (process %s)', folder, owner.get('pid'))
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def shorten_paths(text: str, folder: str) -> str:
    """``text`` with the paths of a job folder's files cut to the files' own names.

    The page names the uploads and outputs as the user knows them, not where the server keeps them.

    Args:
        text: A job's report.
        folder: The job's folder.
    """
    for part in ('in', 'out', 'model', ''):
        text = text.replace(os.path.join(folder, part, ''), '')
    return text


class Workspace:
    """The server's temporary folder.

    Args:
        parent: Folder to create it in; None for the system's temporary folder.
    """

    def __init__(self, parent: Optional[str] = None) -> None:
        remove_stale_workspaces(parent)
        self.root = os.path.realpath(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
        write_owner(os.path.join(self.root, OWNER_FILE), owner_record())
        self.gradio_cache = os.path.join(self.root, 'gradio')
        self.jobs = os.path.join(self.root, 'jobs')
        os.mkdir(self.gradio_cache)
        os.mkdir(self.jobs)
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def new_job_folder(self, kind: str) -> str:
        """A new, empty folder for one job (``jobs/<number>-<kind>``)."""
        with self._lock:
            number = next(self._numbers)
        folder = os.path.join(self.jobs, f'{number:04d}-{kind}')
        os.mkdir(folder)
        return folder

    def contains(self, path: str) -> bool:
        """Whether ``path`` (after resolving links and ``..``) lies inside the workspace."""
        return os.path.commonpath([self.root, os.path.realpath(path)]) == self.root

    def gather(self, paths: Sequence[str], folder: str) -> List[str]:
        """Hard-link (or copy) uploaded files into ``folder`` under their own names, numbered when names repeat.

        A name that starts with a dot loses it: the jobs pass over hidden files, as the command lines do.

        Args:
            paths: Files of the workspace (Gradio's uploads).
            folder: Where they go (created).

        Returns:
            The new paths, in order.

        Raises:
            ValueError: A path lies outside the workspace.
        """
        os.makedirs(folder, exist_ok=True)
        placed = []
        for path in paths:
            if not self.contains(path):
                raise ValueError(f'{path} is not an upload of this page')
            stem, ext = os.path.splitext(os.path.basename(path).lstrip('.') or 'upload')
            target = os.path.join(folder, stem + ext)
            for number in itertools.count(2):
                if not os.path.exists(target):
                    break
                target = os.path.join(folder, f'{stem}-{number}{ext}')
            try:
                os.link(path, target)
            except OSError:
                shutil.copyfile(path, target)
            placed.append(target)
        return placed

    def discard(self, folder: str) -> None:
        """Remove a job folder (its job was cancelled or could not run)."""
        if self.contains(folder) and os.path.realpath(folder) != self.root:
            shutil.rmtree(folder, ignore_errors=True)

    def remove(self) -> None:
        """Remove the whole folder (the server stops)."""
        shutil.rmtree(self.root, ignore_errors=True)
