"""The body of one worker process: build an upscaler on its device, then upscale and encode segments.

A worker takes segment numbers from a task queue until it gets ``None``, and reports on an event queue:
``('started', worker, segment)``, ``('progress', worker, frames)``, ``('finished', worker, segment)``, or
``('failed', worker, segment_or_None, message)`` after which it stops; warnings logged in the worker travel as
``('warning', worker, message)``. The parent watches the process too, so a worker that dies without a word
(killed, out of memory, a crash in native code) is noticed as well. The other way round, a worker dies with the
job's process, however that ends (see :func:`die_with_parent`): a killed job leaves no worker encoding on.

Within a segment, decoding, upscaling and encoding overlap (:func:`encode_segment`): a thread decodes ahead, the
worker's main thread runs the network on several frames per pass when the upscaler can (``upscale_frames``), and
another thread converts and encodes the results. FFmpeg and torch leave Python's lock while they work, so the
three run at once; the original ran its decoder and encoder as separate ffmpeg processes for the same reason.
"""

import ctypes
import logging
import multiprocessing
import os
import queue
import shutil
import signal
import sys
import threading
import traceback
from contextlib import closing
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.queues import Queue
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from realesrgan.video.encoder_settings import EncoderSettings
from realesrgan.video.reader import VideoSource, read_frames
from realesrgan.video.segments import Segment
from realesrgan.video.timeline import Timeline
from realesrgan.video.writer import SegmentWriter

# turns one BGR uint8 frame into its upscaled BGR uint8 frame; an upscaler that also has
# ``upscale_frames(frames) -> outputs`` and ``frames_per_pass(height, width)`` gets several frames per call
FrameUpscaler = Callable[[np.ndarray], np.ndarray]
# builds a FrameUpscaler on a device ('cpu', 'cuda:0', ...); must be picklable (a module-level class or function)
UpscalerFactory = Callable[[str], FrameUpscaler]
BatchUpscaler = Callable[[Sequence[np.ndarray]], List[np.ndarray]]

# decoded frames waiting for the network, and upscaled frames waiting for the encoder, in passes
_PASSES_AHEAD = 2
_POLL_SECONDS = 0.1

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


def batch_upscaler(upscale: FrameUpscaler, height: int, width: int) -> Tuple[BatchUpscaler, int]:
    """The upscaler's batch form and its frames per pass (1 and a loop for one-frame upscalers).

    Args:
        upscale: What the plan's factory built; with ``upscale_frames(frames)`` and ``frames_per_pass(height,
            width)`` it gets several frames per call.
        height: Height of the input frames.
        width: Width of the input frames.

    Returns:
        A function from frames to upscaled frames, and how many frames to give it at once.
    """
    upscale_frames = getattr(upscale, 'upscale_frames', None)
    if upscale_frames is None:
        return (lambda frames: [upscale(frame) for frame in frames]), 1
    return upscale_frames, max(1, int(upscale.frames_per_pass(height, width)))


def encode_segment(plan: WorkerPlan, segment: Segment, upscale: FrameUpscaler, on_frame: Callable[[], None]) -> None:
    """Upscale the frames of one segment and encode them into the segment's file.

    Decoding (a thread), upscaling (this thread, ``frames_per_pass`` frames at a time) and encoding (a thread)
    overlap; bounded queues between them keep at most a few passes of frames in memory. An input frame shown by
    several output frames (``--fps`` above the input's rate) is upscaled once; input frames no output frame shows
    are skipped. The first error of any stage stops the others and is raised here.

    Args:
        plan: The job.
        segment: The segment to do.
        upscale: The frame upscaler.
        on_frame: Called after each output frame is encoded.
    """
    timeline = plan.timeline
    shows: Dict[int, List[int]] = {}  # input frame -> the output frames (timeline indices) that show it, in order
    for k in range(segment.start, segment.stop):
        shows.setdefault(timeline.source_of(k), []).append(k)
    needed = sorted(shows)
    upscale_frames, per_pass = batch_upscaler(upscale, plan.source.height, plan.source.width)
    stop = threading.Event()
    decoded: queue.Queue = queue.Queue(_PASSES_AHEAD * per_pass)
    upscaled: queue.Queue = queue.Queue(_PASSES_AHEAD * per_pass)
    origin = timeline.pts[segment.start]

    def decode(frames: Iterator[Tuple[int, np.ndarray]]) -> None:
        wanted = set(needed)  # the reader raises VideoInputError when the input ends early
        for index, image in frames:
            if index in wanted and not _put(decoded, (index, image), stop):
                return

    def encode(writer: SegmentWriter) -> None:
        while True:
            item = _get(upscaled, stop)
            if item is None:
                return
            index, output = item
            for k in shows[index]:
                writer.write(output, timeline.pts[k] - origin, timeline.duration_of(k))
                on_frame()

    with closing(read_frames(plan.source, needed[0], needed[-1] + 1)) as frames, SegmentWriter(
        plan.segment_path(segment), plan.encoder, timeline.time_base, timeline.frame_rate
    ) as writer:
        decoder = _Stage('decoder', decode, frames, stop, done=decoded)
        encoder = _Stage('encoder', encode, writer, stop)
        try:
            for first in range(0, len(needed), per_pass):
                batch = [_get(decoded, stop, decoder) for _ in needed[first : first + per_pass]]
                if any(item is None for item in batch):
                    break  # a stage failed (stop is set): its error is raised below
                outputs = upscale_frames([image for _, image in batch])
                if not all(
                    _put(upscaled, (index, output), stop, encoder) for (index, _), output in zip(batch, outputs)
                ):
                    break  # the encoder failed
            _put(upscaled, None, stop, encoder)
            encoder.join()
        finally:
            stop.set()
            decoder.join()
            encoder.join()
        decoder.raise_error()
        encoder.raise_error()


class _Stage(threading.Thread):
    """One stage of :func:`encode_segment` in its own thread; its error is kept and raised by the caller.

    A failing stage sets ``stop``, which ends the other stages; ``done``, when given, gets ``None`` when the
    stage ends, so that its consumer stops waiting.
    """

    def __init__(
        self,
        name: str,
        body: Callable[[Any], None],
        argument: Any,
        stop: threading.Event,
        done: Optional[queue.Queue] = None,
    ) -> None:
        super().__init__(name=f'realesrgan-video-{name}', daemon=True)
        self.body, self.argument, self.stop, self.done = body, argument, stop, done
        self.error: Optional[BaseException] = None
        self.start()

    def run(self) -> None:
        try:
            self.body(self.argument)
        except BaseException as exc:  # noqa: B036 -- handed to the worker's main thread, which reports it
            self.error = exc
            self.stop.set()
        finally:
            if self.done is not None:
                _put(self.done, None, self.stop)

    def raise_error(self) -> None:
        """Raise the stage's error, if it had one."""
        if self.error is not None:
            raise self.error


def _put(channel: queue.Queue, item: Any, stop: threading.Event, consumer: Optional[_Stage] = None) -> bool:
    """Put ``item`` on ``channel`` unless ``stop`` is set (or its consumer ended) first; whether it was put."""
    while not stop.is_set() and (consumer is None or consumer.is_alive()):
        try:
            channel.put(item, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


def _get(channel: queue.Queue, stop: threading.Event, producer: Optional[_Stage] = None) -> Any:
    """The next item of ``channel``, or None once ``stop`` is set (or its producer ended) and nothing is left."""
    while True:
        try:
            return channel.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if stop.is_set() or (producer is not None and not producer.is_alive() and channel.empty()):
                return None
