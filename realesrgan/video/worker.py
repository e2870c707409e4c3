"""The body of one worker process: build an upscaler on its device, then upscale and encode segments.

A worker takes segment numbers from a task queue until it gets ``None``, and reports on an event queue:
``('started', worker, segment)``, ``('progress', worker, frames)``, ``('finished', worker, segment)``, or
``('failed', worker, segment_or_None, message)`` after which it stops; warnings logged in the worker travel as
``('warning', worker, message)``. The parent watches the process too, so a worker that dies without a word
(killed, out of memory, a crash in native code) is noticed as well. The other way round, a worker dies with the
job's process, however that ends (see :func:`realesrgan.workers.child.die_with_parent`), removing the job's work
folder: a killed job leaves no worker encoding on.
"""

import os
from contextlib import closing
from dataclasses import dataclass
from multiprocessing.queues import Queue
from typing import Callable, Sequence

import numpy as np

from realesrgan.video.encoder_settings import EncoderSettings
from realesrgan.video.reader import VideoSource, read_frames
from realesrgan.video.segments import Segment
from realesrgan.video.timeline import Timeline
from realesrgan.video.writer import SegmentWriter
from realesrgan.workers.child import describe_exception, worker_process

# turns one BGR uint8 frame into its upscaled BGR uint8 frame
FrameUpscaler = Callable[[np.ndarray], np.ndarray]
# builds a FrameUpscaler on a device ('cpu', 'cuda:0', ...); must be picklable (a module-level class or function)
UpscalerFactory = Callable[[str], FrameUpscaler]


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
    segment = None
    with worker_process(worker_id, events, num_threads, plan.folder):
        try:
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
