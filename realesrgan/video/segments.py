"""Cutting a job into contiguous segments, and joining the encoded segments into one file without re-encoding.

Segments have a fixed length that depends on the number of frames only, never on the number of workers, and
every segment is encoded from its own fresh encoder state: the output is therefore bit-for-bit the same with one
worker or eight. Joining copies the compressed packets in order (each segment starts with a keyframe), moves
each segment's timestamps to its place in the whole video and interleaves the packets of the other streams
(:class:`~realesrgan.video.streams.StreamCarrier`) by time. The joined video stream gets the input's display
matrix, so a phone video still plays upright.
"""

import heapq
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, List, Optional, Sequence, Tuple

import av

from realesrgan.video.errors import VideoJobError
from realesrgan.video.streams import StreamCarrier

MAX_SEGMENT_FRAMES = 250  # x264's default keyframe interval: a segment border costs no more than a GOP border
MIN_SEGMENT_FRAMES = 12
SEGMENTS_PER_JOB = 32  # enough segments to keep a few workers evenly busy, few enough to keep keyframes rare


@dataclass(frozen=True)
class Segment:
    """A contiguous range of output frames, encoded into its own file.

    Attributes:
        index: Position of the segment in the job.
        start: First output frame.
        stop: One past the last output frame.
    """

    index: int
    start: int
    stop: int

    @property
    def num_frames(self) -> int:
        """Number of frames of the segment."""
        return self.stop - self.start

    def describe(self, total: int) -> str:
        """Human-readable name, e.g. ``'segment 2 of 4 (frames 12-23)'``."""
        return f'segment {self.index + 1} of {total} (frames {self.start}-{self.stop - 1})'


def default_segment_length(num_frames: int) -> int:
    """Frames per segment for a job of ``num_frames`` frames (independent of the number of workers).

    Args:
        num_frames: Number of output frames.

    Returns:
        About ``num_frames / 32``, kept between 12 and 250.
    """
    return max(MIN_SEGMENT_FRAMES, min(MAX_SEGMENT_FRAMES, math.ceil(num_frames / SEGMENTS_PER_JOB)))


def plan_segments(num_frames: int, segment_length: Optional[int] = None) -> List[Segment]:
    """Cut ``num_frames`` output frames into consecutive segments.

    Args:
        num_frames: Number of output frames (at least 1).
        segment_length: Frames per segment; ``None`` for :func:`default_segment_length`.

    Returns:
        The segments in order; the last one may be shorter.
    """
    length = segment_length or default_segment_length(num_frames)
    if length < 1:
        raise ValueError(f'segment_length must be at least 1, got {length}')
    starts = range(0, num_frames, length)
    return [Segment(i, start, min(start + length, num_frames)) for i, start in enumerate(starts)]


def join_segments(
    segment_files: Sequence[str],
    start_pts: Sequence[int],
    time_base: Fraction,
    output_path: str,
    carrier: Optional[StreamCarrier] = None,
    muxer: str = 'mp4',
    display_matrix: Optional[Tuple[int, ...]] = None,
) -> None:
    """Concatenate encoded segments (and the input's other streams) into one file, copying packets as they are.

    Each segment file starts at timestamp zero; it is moved to its ``start_pts``. Decoding timestamps are
    recomputed for the joined stream, because an encoder delays them by its reordering depth, which a very
    short segment may not reach.

    Args:
        segment_files: The segment files, in playback order.
        start_pts: Where each segment starts, in ``time_base`` units.
        time_base: Unit of ``start_pts``, in seconds.
        output_path: The file to write.
        carrier: The input's other streams, metadata and chapters, or ``None``.
        muxer: FFmpeg's name of the output format (``'mp4'``, ``'matroska'``, ``'mov'``, ``'webm'``).
        display_matrix: The input's display matrix (rotation), or ``None``.

    Raises:
        VideoJobError: The segments do not have the same encoding parameters.
    """
    layout = _SegmentLayout(segment_files, start_pts, Fraction(time_base))
    with av.open(segment_files[0]) as first, av.open(output_path, mode='w', format=muxer) as output:
        template = first.streams.video[0]
        # opaque: take the codec from the template as it is (no encoder by the decoder's name is needed, as libdav1d)
        video_stream = output.add_stream_from_template(template, opaque=True)
        if template.codec_context.name == 'hevc' and muxer in ('mp4', 'mov'):
            video_stream.codec_tag = 'hvc1'  # the tag Apple's players require of HEVC
        if display_matrix is not None:
            video_stream.set_display_matrix(display_matrix)
        packets = [layout.packets(video_stream)]
        if carrier is not None:
            carrier.add_streams(output, video_stream)
            packets.append(carrier.packets())
        for packet in heapq.merge(*packets, key=_decode_time):
            output.mux(packet)


def _decode_time(packet: av.Packet) -> Fraction:
    return (packet.dts if packet.dts is not None else packet.pts) * packet.time_base


class _SegmentLayout:
    """Timestamps of all video packets of the joined stream, worked out before any packet is copied."""

    def __init__(self, segment_files: Sequence[str], start_pts: Sequence[int], time_base: Fraction) -> None:
        self.segment_files = list(segment_files)
        self.offsets: List[int] = []
        presentation: List[int] = []
        reference = None
        for path, start in zip(segment_files, start_pts):
            with av.open(path) as container:
                stream = container.streams.video[0]
                params = (
                    stream.codec_context.width,
                    stream.codec_context.height,
                    bytes(stream.codec_context.extradata or b''),
                )
                if reference is None:
                    reference = params
                    self.time_base = stream.time_base
                elif params != reference or stream.time_base != self.time_base:
                    raise VideoJobError(
                        f'segment {path} was encoded with other parameters than the first one '
                        '(size, encoder headers or time base); cannot join them without '
                        're-encoding'
                    )
                offset = round(start * time_base / self.time_base)
                self.offsets.append(offset)
                presentation.extend(p.pts + offset for p in container.demux(stream) if p.size)
        # decoding order: the same sequence of times as presentation order, shifted back by the deepest
        # reordering so that no packet is decoded after it is shown
        ordered = sorted(presentation)
        shift = max(0, max(p - q for p, q in zip(ordered, presentation)))
        self.decode_ts = [p - shift for p in ordered]

    def packets(self, output_stream: av.VideoStream) -> Iterator[av.Packet]:
        """Yield the video packets of all segments, retimed and addressed to ``output_stream``."""
        position = 0
        for path, offset in zip(self.segment_files, self.offsets):
            with av.open(path) as container:
                for packet in container.demux(container.streams.video[0]):
                    if not packet.size:
                        continue
                    packet.pts += offset
                    packet.dts = self.decode_ts[position]
                    packet.stream = output_stream
                    position += 1
                    yield packet
