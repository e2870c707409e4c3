"""The worker's side of a worker process: how it starts, reports and ends with the job that started it.

A worker reports on an event queue as ``(kind, worker_id, ...)`` tuples; warnings logged by the package inside
the worker travel as ``('warning', worker_id, message)``. The job's process watches its workers, and the other way
round a worker dies with the job's process, however that ends (see :func:`die_with_parent`): a killed job leaves
no worker running on.
"""

import contextlib
import ctypes
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import threading
from multiprocessing.connection import wait
from typing import Iterator, Optional, Protocol

__all__ = ['EventSink', 'die_with_parent', 'worker_process']

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class EventSink(Protocol):
    """Where a worker's events go (the worker's end of its pipe to the job)."""

    def put(self, event: tuple) -> None:
        """Send one event ``(kind, worker_id, ...)``."""


@contextlib.contextmanager
def worker_process(
    worker_id: int, events: EventSink, num_threads: int, cleanup_folder: Optional[str] = None
) -> Iterator[None]:
    """The frame of a worker's body: Ctrl-C left to the job, death with the job, warnings forwarded, CPU threads.

    Args:
        worker_id: Number of this worker, for its events.
        events: The job's event queue.
        num_threads: CPU threads for torch in this process (0 leaves torch's default).
        cleanup_folder: A folder of the job's to remove when the job's process is gone, or None.

    Yields:
        Nothing; the worker does its work inside the block.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the job's to handle: it stops the workers
    die_with_parent(cleanup_folder)
    forward = _EventHandler(events, worker_id)
    package_logger = logging.getLogger('realesrgan')
    package_logger.addHandler(forward)
    try:
        if num_threads:
            import torch

            torch.set_num_threads(num_threads)
        yield
    finally:
        package_logger.removeHandler(forward)


def die_with_parent(cleanup_folder: Optional[str] = None) -> None:
    """End this worker process as soon as the job's process ends, even by SIGKILL (which runs no clean-up there).

    The job's process is not always the parent of its workers: with the ``forkserver`` start method the workers
    are children of the fork server, which stays alive as long as any worker does. So this does not watch the
    parent process id. ``multiprocessing`` hands each child a sentinel of the process that started it (a pipe
    whose other end only that process holds open); a daemon thread waits on it and, when it closes, removes
    ``cleanup_folder`` (nobody else will) and exits at once, whatever the main thread is doing. On Linux, where
    the job's process is the direct parent (the ``spawn`` start method), the kernel's parent-death signal is
    set too: it kills the worker even while a native call holds the interpreter lock, usually before the
    thread has removed the folder, which the next job then removes.

    Args:
        cleanup_folder: The job's temporary folder, removed when the job's process is gone; None for none.
    """
    parent = multiprocessing.parent_process()
    if parent is None:  # not started by multiprocessing (a test calling a worker's body directly)
        return
    if sys.platform.startswith('linux') and os.getppid() == parent.pid:
        _set_parent_death_signal(signal.SIGKILL)
    watchdog = threading.Thread(
        target=_exit_when_closed,
        args=(parent.sentinel, cleanup_folder),
        name='realesrgan-parent-watchdog',
        daemon=True,
    )
    watchdog.start()


def _set_parent_death_signal(signum: int) -> None:
    """Ask Linux to send ``signum`` to this process when its parent ends (prctl PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the watchdog thread covers this case as well, only less abruptly


def _exit_when_closed(sentinel: int, cleanup_folder: Optional[str]) -> None:
    """Wait until the parent's sentinel closes (the parent is gone), then remove the folder and exit."""
    wait([sentinel])
    if cleanup_folder is not None:
        shutil.rmtree(cleanup_folder, ignore_errors=True)
    os._exit(1)


class _EventHandler(logging.Handler):
    """Sends warnings logged in a worker to the job, which shows them and lists them in its result."""

    def __init__(self, events: EventSink, worker_id: int) -> None:
        super().__init__(logging.WARNING)
        self.events = events
        self.worker_id = worker_id

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.events.put(('warning', self.worker_id, record.getMessage()))
        except Exception:  # a warning that cannot be sent must not fail the work
            self.handleError(record)
