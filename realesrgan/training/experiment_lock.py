"""One training run per experiment folder: a lock beside ``experiments/<name>``, refused with the holder named.

BasicSR makes room for a new run by renaming an existing ``experiments/<name>`` to ``<name>_archived_<time>``; a
second run of the same name started while the first one trains would move the first run's folder away under it and
mix both runs' checkpoints. The lock is the file ``experiments/.<name>.lock``, held with ``flock`` (released by the
kernel when the holding process ends, however it ends) and holding the owner record of the holder
(:mod:`realesrgan.fileio.owner`) so that a refusal can name it. A lock file left by a process that no longer runs
is taken over, with a note.
"""

import contextlib
import json
import logging
import os
from typing import Optional

from realesrgan.fileio.owner import describe_owner, owner_gone, owner_record, read_owner

try:
    import fcntl
except ImportError:  # Windows: the owner record alone decides
    fcntl = None  # type: ignore[assignment]

__all__ = ['ExperimentBusyError', 'ExperimentLock']

logger = logging.getLogger(__name__)


class ExperimentBusyError(RuntimeError):
    """Another process trains the same experiment; the message is one line naming it."""


class ExperimentLock:
    """The lock of one experiment folder.

    Args:
        experiments_root: The run's ``experiments/<name>`` folder (which need not exist yet).
    """

    def __init__(self, experiments_root: str) -> None:
        self.root = os.path.abspath(experiments_root)
        self.path = os.path.join(os.path.dirname(self.root), f'.{os.path.basename(self.root)}.lock')
        self._descriptor: Optional[int] = None
        self._made_parent = False

    def acquire(self) -> None:
        """Take the lock (a stale one of a process that is gone is taken over).

        Raises:
            ExperimentBusyError: A running process holds it.
        """
        parent = os.path.dirname(self.path)
        self._made_parent = not os.path.isdir(parent)
        os.makedirs(parent, exist_ok=True)
        while self._descriptor is None:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not self._locked(descriptor):
                os.close(descriptor)
                raise self._busy(read_owner(self.path))
            try:
                same_file = os.path.samestat(os.fstat(descriptor), os.stat(self.path))
            except FileNotFoundError:
                same_file = False
            if same_file:
                self._descriptor = descriptor
            else:  # its holder removed the file between our open and lock: lock the file at the path now
                os.close(descriptor)
        previous = read_owner(self.path)
        if previous and previous.get('pid') != os.getpid():
            logger.info('taking over the lock %s of %s, which no longer runs', self.path, describe_owner(previous))
        os.ftruncate(self._descriptor, 0)
        os.write(self._descriptor, json.dumps(owner_record(experiment=os.path.basename(self.root))).encode())

    def _locked(self, descriptor: int) -> bool:
        """Lock the open file; False when another process holds it."""
        if fcntl is not None:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True
        owner = read_owner(self.path)
        return owner is None or owner.get('pid') == os.getpid() or owner_gone(owner)

    def _busy(self, owner: Optional[dict]) -> ExperimentBusyError:
        name = os.path.basename(self.root)
        return ExperimentBusyError(
            f'experiment "{name}" is being trained by {describe_owner(owner)} ({self.root}); wait for that run to '
            'end or stop it, or give this run another name'
        )

    def release(self) -> None:
        """Remove the lock file and let go of the lock; nothing when not held."""
        if self._descriptor is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)
        os.close(self._descriptor)
        self._descriptor = None
        if self._made_parent:
            with contextlib.suppress(OSError):  # not empty: the run made its folders there
                os.rmdir(os.path.dirname(self.path))
