"""The body of one worker process: build an upscaler on its device, then upscale and encode segments.

A worker takes segment numbers from a task queue until it gets ``None``, and reports on an event queue:
``('started', worker, segment)``, ``('progress', worker, frames)``, ``('finished', worker, segment)``, or
``('failed', worker, segment_or_None, message)`` after which it stops; warnings logged in the worker travel as
``('warning', worker, message)``. The parent watches the process too, so a worker that dies without a word
(killed, out of memory, a crash in native code) is noticed as well. The other way round, a worker dies with the
job's process, however that ends (see :func:`die_with_parent`): a killed job leaves no worker encoding on.
"""

import ctypes
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import traceback
from contextlib import closing
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.queues import Queue
from typing import Callable, Sequence

import numpy as np

from realesrgan.video.encoder_settings import EncoderSettings
from realesrgan.video.reader import VideoSource, read_frames
from realesrgan.video.segments import Segment
from realesrgan.video.timeline import Timeline
from realesrgan.video.writer import SegmentWriter

# turns one BGR uint8 frame into its upscaled BGR uint8 frame
FrameUpscaler = Callable[[np.ndarray], np.ndarray]
# builds a FrameUpscaler on a device ('cpu', 'cuda:0', ...); must be picklable (a module-level class or function)
UpscalerFactory = Callable[[str], FrameUpscaler]

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclass(frozen=True)
class WorkerPlan:
    """Everything a worker needs besides its queues (pickled once per worker).

    Attributes:
        source: The probed input.
        timeline: The output frames.
        segments: All segments of the job.
        encoder: Encoder settings.
        folder: Where segment files go.
        make_upscaler: Builds the frame upscaler.
    """

    source: VideoSource
    timeline: Timeline
    segments: Sequence[Segment]
    encoder: EncoderSettings
    folder: str
    make_upscaler: UpscalerFactory

    def segment_path(self, segment: Segment) -> str:
        """File of one encoded segment."""
        return os.path.join(self.folder, f'segment_{segment.index:05d}.mp4')


def run_worker(worker_id: int, device: str, num_threads: int, plan: WorkerPlan, tasks: Queue, events: Queue) -> None:
    """Process entry point: upscale the segments named on ``tasks`` until ``None`` arrives.

    Args:
        worker_id: Number of this worker, for messages.
        device: Torch device for the upscaler.
        num_threads: CPU threads for torch in this process (0 leaves torch's default).
        plan: The job.
        tasks: Segment indices to do, then ``None``.
        events: Where progress and results are reported.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    die_with_parent(plan.folder)
    segment = None
    forward = _EventHandler(events, worker_id)
    package_logger = logging.getLogger('realesrgan')
    package_logger.addHandler(forward)
    try:
        if num_threads:
            import torch

            torch.set_num_threads(num_threads)
        upscale = plan.make_upscaler(device)
        while True:
            index = tasks.get()
            if index is None:
                return
            segment = plan.segments[index]
            events.put(('started', worker_id, index))
            encode_segment(plan, segment, upscale, lambda: events.put(('progress', worker_id, 1)))
            events.put(('finished', worker_id, index))
            segment = None
    except BaseException as exc:  # noqa: B036 -- everything is reported to the parent, which decides
        events.put(('failed', worker_id, None if segment is None else segment.index, describe_exception(exc)))
    finally:
        package_logger.removeHandler(forward)


def die_with_parent(work_folder: str) -> None:
    """End this worker process as soon as the job's process ends, even by SIGKILL (which runs no clean-up there).

    The job's process is not always the parent of its workers: with the ``forkserver`` start method the workers
    are children of the fork server, which stays alive as long as any worker does. So this does not watch the
    parent process id. ``multiprocessing`` hands each child a sentinel of the process that started it (a pipe
    whose other end only that process holds open); a daemon thread waits on it and, when it closes, removes the
    job's work folder (nobody else will) and exits at once, whatever the main thread is doing. On Linux, where
    the job's process is the direct parent (the ``spawn`` start method), the kernel's parent-death signal is
    set too: it kills the worker even while a native call holds the interpreter lock, usually before the
    thread has removed the folder, which the next job writing the same output then removes.

    Args:
        work_folder: The job's temporary folder, removed when the job's process is gone.
    """
    parent = multiprocessing.parent_process()
    if parent is None:  # not started by multiprocessing (a test calling run_worker directly)
        return
    if sys.platform.startswith('linux') and os.getppid() == parent.pid:
        _set_parent_death_signal(signal.SIGKILL)
    watchdog = threading.Thread(
        target=_exit_when_closed,
        args=(parent.sentinel, work_folder),
        name='realesrgan-video-parent-watchdog',
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


def _exit_when_closed(sentinel: int, work_folder: str) -> None:
    """Wait until the parent's sentinel closes (the parent is gone), then remove the work folder and exit."""
    wait([sentinel])
    shutil.rmtree(work_folder, ignore_errors=True)
    os._exit(1)


class _EventHandler(logging.Handler):
    """Sends warnings logged in a worker to the parent, which shows them and lists them on the job's result."""

    def __init__(self, events: Queue, worker_id: int) -> None:
        super().__init__(logging.WARNING)
        self.events = events
        self.worker_id = worker_id

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.events.put(('warning', self.worker_id, record.getMessage()))
        except Exception:  # a warning that cannot be sent must not fail the segment
            self.handleError(record)


def describe_exception(exc: BaseException) -> str:
    """One line for the user: the exception, and where it was raised (for a bug report).

    Args:
        exc: The exception.

    Returns:
        E.g. ``'MemoryError: out of memory (at utils.py:312)'``.
    """
    message = ' '.join(str(exc).split())
    text = f'{type(exc).__name__}: {message}' if message else type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__)
    return f'{text} (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno})' if frames else text


def encode_segment(plan: WorkerPlan, segment: Segment, upscale: FrameUpscaler, on_frame: Callable[[], None]) -> None:
    """Upscale the frames of one segment and encode them into the segment's file.

    An input frame shown by several output frames (``--fps`` above the input's rate) is upscaled once.

    Args:
        plan: The job.
        segment: The segment to do.
        upscale: The frame upscaler.
        on_frame: Called after each output frame is encoded.
    """
    timeline = plan.timeline
    first_input = timeline.source_of(segment.start)
    last_input = timeline.source_of(segment.stop - 1)
    origin = timeline.pts[segment.start]
    current_index, current_output = -1, None
    with closing(read_frames(plan.source, first_input, last_input + 1)) as frames, SegmentWriter(
        plan.segment_path(segment), plan.encoder, timeline.time_base, timeline.frame_rate
    ) as writer:
        for k in range(segment.start, segment.stop):
            wanted = timeline.source_of(k)
            if wanted != current_index:
                while current_index < wanted:  # input frames no output frame shows are skipped
                    current_index, image = next(frames)
                current_output = upscale(image)
            writer.write(current_output, timeline.pts[k] - origin, timeline.duration_of(k))
            on_frame()
