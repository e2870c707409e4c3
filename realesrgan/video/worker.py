"""One segment of a video job: :class:`SegmentTask`, which an executor runs with the worker's frame upscaler.

Within a segment, decoding, upscaling and encoding overlap (:func:`encode_segment`): a thread decodes ahead, the
worker's main thread runs the network on several frames per pass when the upscaler can (``upscale_frames``), and
another thread converts and encodes the results. FFmpeg and torch leave Python's lock while they work, so the
three run at once; the original ran its decoder and encoder as separate ffmpeg processes for the same reason.

A segment's file is written under a temporary name and renamed when complete, so a file under a segment's name is
a finished segment: a job run again after a crash, kill or Ctrl-C reuses it (:meth:`WorkerPlan.is_done`).
"""

import os
import queue
import threading
from contextlib import closing
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import av
import numpy as np

from realesrgan.execution.executor import Report, Task
from realesrgan.fileio.atomic import atomic_output
from realesrgan.video.encoder_settings import EncoderSettings
from realesrgan.video.reader import VideoSource, read_frames
from realesrgan.video.segments import Segment
from realesrgan.video.timeline import Timeline
from realesrgan.video.writer import SegmentWriter, segment_format

# turns one BGR frame (uint8, or uint16 for 10-bit video) into its upscaled BGR frame of the same type; one with
# ``upscale_frames(frames) -> outputs`` and ``frames_per_pass(height, width)`` gets several frames per call
FrameUpscaler = Callable[[np.ndarray], np.ndarray]
# builds a FrameUpscaler on a device ('cpu', 'cuda:0', ...); must be picklable (a module-level class or function)
UpscalerFactory = Callable[[str], FrameUpscaler]
BatchUpscaler = Callable[[Sequence[np.ndarray]], List[np.ndarray]]

# decoded frames waiting for the network, and upscaled frames waiting for the encoder, in passes
_PASSES_AHEAD = 2
_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class WorkerPlan:
    """Everything a segment needs besides the upscaler (pickled once per worker).

    Attributes:
        source: The probed input.
        timeline: The output frames.
        segments: All segments of the job.
        encoder: Encoder settings (``pix_fmt`` resolved for the input).
        folder: Where segment files go.
    """

    source: VideoSource
    timeline: Timeline
    segments: Sequence[Segment]
    encoder: EncoderSettings
    folder: str

    def segment_path(self, segment: Segment) -> str:
        """File of one encoded segment."""
        return os.path.join(self.folder, f'segment_{segment.index:05d}.{segment_format(self.encoder)}')

    def is_done(self, segment: Segment) -> bool:
        """Whether the segment's file is complete: it exists (files are renamed into place when complete) and
        holds the segment's frames."""
        path = self.segment_path(segment)
        if not os.path.exists(path):
            return False
        try:
            with av.open(path) as container:
                frames = sum(1 for packet in container.demux(container.streams.video[0]) if packet.size)
        except (av.error.FFmpegError, IndexError, OSError):
            return False
        return frames == segment.num_frames


@dataclass(frozen=True)
class SegmentTask(Task):
    """Upscale and encode one segment (the item is its index); reports 1 for each frame encoded."""

    plan: WorkerPlan

    def run(self, upscaler: FrameUpscaler, item: int, loaded: None, report: Report) -> int:
        """Encode segment ``item`` into its file (unless a run before finished it); returns its index."""
        segment = self.plan.segments[item]
        if not self.plan.is_done(segment):
            encode_segment(self.plan, segment, upscaler, lambda: report(1))
        return item


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

    source = plan.source
    with closing(read_frames(source, needed[0], needed[-1] + 1)) as frames, atomic_output(
        plan.segment_path(segment)
    ) as partial, SegmentWriter(
        partial, plan.encoder, timeline.time_base, timeline.frame_rate, source.color, source.sample_aspect_ratio
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
