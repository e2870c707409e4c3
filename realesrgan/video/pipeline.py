"""Upscaling a whole video: probe, plan, run the segments on an executor, join them, publish the file.

The segments run in worker processes (:class:`~realesrgan.execution.local_pool.LocalPoolExecutor`), which the job
watches, so a worker that crashes or is killed fails the job at once, with a message naming its segment, instead
of hanging. Everything is written inside a temporary folder next to the output and the finished file
is renamed into place at the very end, so a failed or interrupted job leaves neither a half-written video
under the final name nor temporary files behind. SIGTERM stops a job as Ctrl-C does (see
:class:`~realesrgan.video.errors.VideoJobTerminated`).

A job killed outright (SIGKILL, a crash of the interpreter) cannot clean up after itself: its workers notice and
end at once, removing the work folder (see :func:`~realesrgan.execution.worker_process.die_with_parent`), and where even
that could not happen, the next job writing the same output removes the folders whose owner is gone. The work
folder records its owner (host, process id and start time) in a small ``owner`` file for that.

A resumable job (``resume=True``, the command line's default) keeps its work folder when it fails, is interrupted
or killed: its name comes from what the job makes (the input file, the timeline, the encoder settings and the
upscaler), so the same job run again finds it, takes it over once its owner is gone, and encodes only the
segments without a finished file. Segments are encoded deterministically, so the result equals an uninterrupted
run. A finished job removes its work folder in either case.
"""

import hashlib
import logging
import os
import pickle
import shutil
import signal
import socket
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import av

from realesrgan.execution.executor import Executor, ItemResult, Listener, Work, WorkerStartError
from realesrgan.execution.local_pool import LocalPoolExecutor, worker_devices
from realesrgan.fileio.atomic import remove_stale_partials
from realesrgan.fileio.owner import OWNER_FILE, owner_gone, owner_record, read_owner, write_owner
from realesrgan.video.encoder_settings import CONTAINERS, EncoderSettings
from realesrgan.video.errors import VideoInputError, VideoJobError, VideoJobTerminated
from realesrgan.video.preflight import check_output
from realesrgan.video.reader import VideoSource, describe_shortfall, extract_frames, probe_source
from realesrgan.video.segments import Segment, join_segments, plan_segments
from realesrgan.video.streams import StreamCarrier
from realesrgan.video.timeline import Timeline, plan_timeline
from realesrgan.video.worker import SegmentTask, UpscalerFactory, WorkerPlan
from realesrgan.video.writer import check_encoder, encoder_can_write

__all__ = ['VideoJobResult', 'remove_stale_work_folders', 'upscale_video', 'worker_devices']

logger = logging.getLogger(__name__)

_MAX_WARNINGS = 20


@dataclass(frozen=True)
class VideoJobResult:
    """What a finished job produced.

    Attributes:
        output_path: The video file written.
        num_frames: Number of frames of the output.
        frame_rate: Nominal frame rate of the output.
        num_segments: Number of segments the job was cut into.
        num_workers: Number of worker processes used.
        audio_streams: Number of audio streams carried over.
        warnings: What the user should know about the output, one line each (also logged as they arose):
            e.g. that the input is truncated and how much of it the output holds, or frames the decoder skipped.
        encoder: The encoder settings used (``pix_fmt`` resolved for the input).
        reused_frames: Frames of segments that an interrupted run of the same job had finished.
    """

    output_path: str
    num_frames: int
    frame_rate: Fraction
    num_segments: int
    num_workers: int
    audio_streams: int
    warnings: Tuple[str, ...] = ()
    encoder: EncoderSettings = EncoderSettings()
    reused_frames: int = 0


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`VideoJobTerminated` as Ctrl-C raises :class:`KeyboardInterrupt`.

    The job then stops its workers and removes its work folder, where SIGTERM's default action would kill the
    process with no clean-up at all. Only where Python may install a handler (the main thread) and SIGTERM has
    its default action: a handler the caller installed is left alone. A second SIGTERM is ignored while the job
    cleans up.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def stop(signum: int, frame: object) -> None:
        signal.signal(signum, signal.SIG_IGN)
        raise VideoJobTerminated(signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@_sigterm_as_interrupt()
def upscale_video(
    input_path: str,
    output_path: str,
    make_upscaler: UpscalerFactory,
    devices: Sequence[str] = ('cpu',),
    fps: Optional[Fraction] = None,
    encoder: Optional[EncoderSettings] = None,
    segment_length: Optional[int] = None,
    extract_frame_first: bool = False,
    frame_ext: str = 'png',
    progress: Optional[Callable[[int], None]] = None,
    on_start: Optional[Callable[[int], None]] = None,
    resume: bool = False,
    on_reuse: Optional[Callable[[int], None]] = None,
    executor: Optional[Executor] = None,
) -> VideoJobResult:
    """Upscale every frame of a video (or a folder of frames), keeping everything else the output can hold.

    Args:
        input_path: A video file, or a folder of images sorted by name.
        output_path: The file to write (``.mp4``, ``.mkv``, ``.mov`` or ``.webm``: the container); its folder is
            created when missing.
        make_upscaler: Picklable factory that builds the frame upscaler on a device, in each worker.
        devices: One device per worker process (see :func:`worker_devices`).
        fps: Constant output frame rate (frames repeated or dropped, duration kept), or ``None`` to keep the
            input's frames and timestamps. For a folder of frames, the rate of the frames (default 24).
        encoder: Encoder settings; ``None`` for the defaults (H.264, crf 23, yuv420p).
        segment_length: Frames per segment; ``None`` for the default (depends on the frame count only).
        extract_frame_first: Decode all frames to image files first, then upscale those.
        frame_ext: Image format of the extracted frames (``'png'`` or ``'jpg'``).
        progress: Called with the number of newly encoded frames, as they are encoded.
        on_start: Called once with the total number of output frames, before the workers start.
        resume: Keep the work folder when the job does not finish, and reuse the segments a run of the same job
            finished (see the module's documentation).
        on_reuse: Called once with the number of frames of reused segments, when there are any.
        executor: Where the segments run (e.g. a :class:`~realesrgan.execution.ray_executor.RayExecutor` whose
            workers see the input and the output folder); None for worker processes on ``devices``.

    Returns:
        What was produced.

    Raises:
        VideoInputError: The input or the output location cannot be used.
        VideoJobError: A worker failed or died; the message names the segment.
        VideoJobTerminated: The process got SIGTERM (when the job runs in the main thread and SIGTERM had its
            default action); like :class:`KeyboardInterrupt` on Ctrl-C, nothing is left behind.
    """
    if not devices:
        raise ValueError('at least one worker device is needed')
    encoder = encoder or EncoderSettings()
    container = check_output(output_path, encoder)
    source = probe_source(input_path, fps)
    warnings = _Warnings()
    encoder = _encoder_for(source, encoder, warnings)
    timeline = plan_timeline(source, None if source.frame_files else fps)
    segments = plan_segments(timeline.num_frames, segment_length)
    key = _job_key(source, timeline, segments, encoder, make_upscaler, extract_frame_first, frame_ext)
    resumable = _resumable_folder(output_path, key) if resume else None
    for message in remove_stale_work_folders(output_path, keep=resumable):
        warnings.add(message)
    shortfall = describe_shortfall(source)
    if shortfall:
        warnings.add(shortfall)
    work_folder = _take_over(resumable) if resumable else _make_work_folder(output_path)
    finished = False
    carrier = None if source.frame_files else StreamCarrier(source.path, source.start_time, CONTAINERS[container])
    try:
        if extract_frame_first and not source.frame_files:
            logger.info('extracting %d frames of %s', source.num_frames, input_path)
            frames_folder = os.path.join(work_folder, 'frames')
            shutil.rmtree(frames_folder, ignore_errors=True)
            os.mkdir(frames_folder)
            source = extract_frames(source, frames_folder, frame_ext)
        plan = WorkerPlan(source, timeline, segments, encoder, work_folder)
        if on_start is not None:
            on_start(timeline.num_frames)
        todo = [segment for segment in segments if not (resume and plan.is_done(segment))]
        reused_frames = timeline.num_frames - sum(segment.num_frames for segment in todo)
        if reused_frames and on_reuse is not None:
            on_reuse(reused_frames)
        num_workers = min(len(devices), len(todo))
        if todo:
            _run_segments(plan, todo, make_upscaler, devices[:num_workers], progress, warnings, resume, executor)
        _join(plan, output_path, carrier, CONTAINERS[container])
        changes = carrier.describe_changes() if carrier is not None else None
        if changes:
            warnings.add(changes)
        finished = True
    finally:
        if finished or not resume:
            shutil.rmtree(work_folder, ignore_errors=True)
    return VideoJobResult(
        output_path,
        timeline.num_frames,
        timeline.frame_rate,
        len(segments),
        num_workers,
        source.audio_streams,
        warnings.lines(),
        encoder,
        reused_frames,
    )


def _encoder_for(source: VideoSource, encoder: EncoderSettings, warnings: '_Warnings') -> EncoderSettings:
    """The encoder settings with ``pix_fmt='auto'`` resolved for the input, checked against this PyAV's encoder.

    ``auto`` on 10-bit input asks for the codec's 10-bit format; where this PyAV's encoder writes 8 bits only (its
    libvpx), the output is 8-bit, with a warning.
    """
    resolved = encoder.for_input(source.bits_per_sample)
    if encoder.pix_fmt == 'auto' and resolved.high_depth and not encoder_can_write(resolved):
        resolved = encoder.for_input(8)
        warnings.add(
            f'the {encoder.spec.encoder} encoder of this PyAV writes 8-bit video only: the output is '
            f'{resolved.pix_fmt} (choose --codec h265 or av1 to keep 10 bits)'
        )
    check_encoder(resolved)
    return resolved


def _join(plan: WorkerPlan, output_path: str, carrier: Optional[StreamCarrier], muxer: str) -> None:
    """Join the segments and the carried streams into the work folder, then rename the file into place."""
    joined = os.path.join(plan.folder, 'joined' + os.path.splitext(output_path)[1])
    segments, timeline = plan.segments, plan.timeline
    try:
        join_segments(
            [plan.segment_path(segment) for segment in segments],
            [timeline.pts[segment.start] for segment in segments],
            timeline.time_base,
            joined,
            carrier,
            muxer,
            plan.source.display_matrix,
        )
        os.replace(joined, output_path)
    except (OSError, av.error.FFmpegError) as exc:
        raise VideoJobError(f'writing {output_path} failed: {exc}') from None
    finally:
        if os.path.exists(joined):
            os.remove(joined)


def _job_key(
    source: VideoSource,
    timeline: Timeline,
    segments: Sequence[Segment],
    encoder: EncoderSettings,
    make_upscaler: UpscalerFactory,
    extract_frame_first: bool,
    frame_ext: str,
) -> str:
    """What the job makes, in 16 hex digits: equal for the same command on the same input, else different."""
    try:
        stat = os.stat(source.path)
        stamp = (stat.st_size, stat.st_mtime_ns)
    except OSError:
        stamp = None
    what = repr(
        (
            os.path.abspath(source.path),
            stamp,
            source.frame_files,
            timeline,
            [(segment.start, segment.stop) for segment in segments],
            encoder,
            extract_frame_first,
            frame_ext,
        )
    ).encode()
    digest = hashlib.sha256(what)
    digest.update(pickle.dumps(make_upscaler, protocol=4))
    return digest.hexdigest()[:16]


def _resumable_folder(output_path: str, key: str) -> str:
    """The work folder of a resumable job: ``.<output name>.resume-<job key>.tmp`` beside the output."""
    folder = os.path.dirname(os.path.abspath(output_path))
    return os.path.join(folder, f'.{os.path.basename(output_path)}.resume-{key}.tmp')


def _take_over(work_folder: str) -> str:
    """Make ``work_folder`` this job's: created when missing, taken over (its finished segments kept) otherwise.

    Raises:
        VideoInputError: The folder's owner still runs (the same job, started twice), or it cannot be written.
    """
    owner = read_owner(os.path.join(work_folder, OWNER_FILE)) if os.path.isdir(work_folder) else None
    here = owner is not None and owner.get('host') == socket.gethostname()
    mine = here and owner.get('pid') == os.getpid()  # a job of this process ended
    if owner is not None and not mine and not owner_gone(owner):
        raise VideoInputError(
            f'the same job is running already (process {owner.get("pid")} on {owner.get("host")}, work folder '
            f'{work_folder}); wait for it to finish, or delete that folder if it no longer runs'
        )
    output_name = os.path.basename(work_folder)[1:].rsplit('.resume-', 1)[0]
    try:
        os.makedirs(work_folder, exist_ok=True)
        remove_stale_partials(work_folder)  # segments the workers of a killed run were writing
        write_owner(os.path.join(work_folder, OWNER_FILE), owner_record(output=output_name))
    except OSError as exc:
        raise VideoInputError(
            f'cannot write to the output folder {os.path.dirname(work_folder)} ({exc.strerror or exc}); '
            'choose another one with -o'
        ) from None
    return work_folder


def remove_stale_work_folders(output_path: str, keep: Optional[str] = None) -> List[str]:
    """Remove the work folders that killed jobs writing ``output_path`` left beside it.

    A folder is removed only when its ``owner`` file names this output and a process of this host that no
    longer runs (its id is free, or now belongs to a process started at another time). Folders of running jobs
    are kept, and so are folders whose owner cannot be told (made before owners were recorded, or by another
    host sharing the folder): those are named in a warning instead.

    Args:
        output_path: The output file of the job about to start.
        keep: The work folder this job resumes (never removed), or ``None``.

    Returns:
        One warning per work folder of this output that may be stale but was kept.
    """
    folder = os.path.dirname(os.path.abspath(output_path))
    name = os.path.basename(output_path)
    try:
        entries = [entry for entry in os.listdir(folder) if entry.startswith(f'.{name}.') and entry.endswith('.tmp')]
    except OSError:
        return []  # no output folder yet, so nothing stale in it
    warnings = []
    for entry in sorted(entries):
        path = os.path.join(folder, entry)
        if not os.path.isdir(path) or (keep is not None and os.path.abspath(path) == os.path.abspath(keep)):
            continue
        owner = read_owner(os.path.join(path, OWNER_FILE))
        if owner is not None and owner.get('output') != name:
            continue  # the folder of another output whose name starts like this one's
        if owner_gone(owner):
            logger.info('removing %s, left by a job that was killed (process %s)', path, owner.get('pid'))
            shutil.rmtree(path, ignore_errors=True)
            continue
        if owner is not None and owner.get('host') == socket.gethostname():
            continue  # its job still runs
        warnings.append(
            f'{path} is the work folder of another job writing {name} (it may still be running); '
            'delete it if no such job runs'
        )
    return warnings


def _make_work_folder(output_path: str) -> str:
    """A hidden temporary folder beside the output (same file system, so the final rename is atomic).

    Named ``.<output name>.<pid>.<random>.tmp``, with an ``owner`` file that :func:`remove_stale_work_folders`
    reads.
    """
    folder = os.path.dirname(os.path.abspath(output_path))
    name = os.path.basename(output_path)
    work_folder = None
    try:
        os.makedirs(folder, exist_ok=True)
        work_folder = tempfile.mkdtemp(prefix=f'.{name}.{os.getpid()}.', suffix='.tmp', dir=folder)
        write_owner(os.path.join(work_folder, OWNER_FILE), owner_record(output=name))
        return work_folder
    except OSError as exc:
        if work_folder is not None:
            shutil.rmtree(work_folder, ignore_errors=True)
        raise VideoInputError(
            f'cannot write to the output folder {folder} ({exc.strerror or exc}); choose another one with -o'
        ) from None


class _Warnings:
    """The job's warnings in the order they arose, each logged and kept once (a repeated one gets a count)."""

    def __init__(self) -> None:
        self._counts: Dict[str, int] = {}

    def add(self, message: str) -> None:
        """Log ``message`` (the first time) and keep it for the result."""
        if message not in self._counts:
            logger.warning('%s', message)
            self._counts[message] = 0
        self._counts[message] += 1

    def lines(self) -> Tuple[str, ...]:
        """One line per warning, at most ``_MAX_WARNINGS`` of them (the log has all)."""
        lines = [message if count == 1 else f'{message} ({count} times)' for message, count in self._counts.items()]
        if len(lines) > _MAX_WARNINGS:
            lines[_MAX_WARNINGS - 1 :] = [f'... and {len(lines) - _MAX_WARNINGS + 1} more warnings (see the log)']
        return tuple(lines)


def _run_segments(
    plan: WorkerPlan,
    todo: Sequence[Segment],
    make_upscaler: UpscalerFactory,
    devices: Sequence[str],
    progress: Optional[Callable[[int], None]],
    warnings: _Warnings,
    resume: bool,
    executor: Optional[Executor] = None,
) -> None:
    """Encode the segments ``todo`` in worker processes (or on ``executor``); the first failure fails the job,
    naming its segment.

    A resumable job's workers leave its folder alone when the job's process dies (the next run reuses it).
    """
    executor = executor or LocalPoolExecutor(devices, name='realesrgan-video-worker')
    work = Work(make_upscaler, SegmentTask(plan), cleanup_folder=None if resume else plan.folder)
    try:
        executor.run(
            work, [segment.index for segment in todo], _SegmentListener(todo, progress, warnings, len(plan.segments))
        )
    except WorkerStartError as error:
        raise VideoJobError(f'worker {error.worker} could not start: {error.detail}') from None


class _SegmentListener(Listener):
    """Shows frames as they are encoded, keeps the workers' warnings, and fails the job at the first failure."""

    def __init__(
        self,
        segments: Sequence[Segment],
        progress: Optional[Callable[[int], None]],
        warnings: _Warnings,
        total: Optional[int] = None,
    ) -> None:
        self.segments, self.on_frames, self.warnings = segments, progress, warnings
        self.total = len(segments) if total is None else total  # segments of the job (these may be fewer)

    def progress(self, index: int, payload: int) -> None:
        if self.on_frames is not None:
            self.on_frames(payload)

    def warning(self, worker: int, message: str) -> None:
        self.warnings.add(message)

    def finished(self, result: ItemResult) -> None:
        failure = result.failure
        if failure is None:
            return
        where = self.segments[result.index].describe(self.total)
        if failure.kind == 'died':
            raise VideoJobError(f'worker {failure.worker} died ({failure.message}) while upscaling {where}')
        if failure.kind == 'abandoned':
            raise VideoJobError(f'{where} was not upscaled: {failure.message}')
        raise VideoJobError(f'{where} failed in worker {failure.worker}: {failure.detail}')
