"""When each output frame is shown, and which input frame it shows.

Without ``--fps`` the output keeps the input's frames and timestamps one to one, so a variable frame rate
survives and the output lasts exactly as long as the input. With ``--fps`` the output gets a constant rate and
the same duration: each output frame shows the input frame that is on screen in the middle of its slot (frames
are repeated or dropped, never sped up), so the copied audio stays in sync.
"""

import bisect
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional, Tuple

from realesrgan.video.reader import VideoSource

# the largest timescale MP4 stores for a track
_MAX_TIMESCALE = 2**31 - 1


@dataclass(frozen=True)
class Timeline:
    """The output frames of a job.

    Attributes:
        time_base: Unit of ``pts`` and ``end_pts``, in seconds.
        pts: Presentation timestamp of each output frame; zero is the start of the output.
        end_pts: When the last output frame ends.
        frame_rate: Nominal frame rate of the output.
        source_index: Input frame shown by each output frame; ``None`` when output frame k is input frame k.
    """

    time_base: Fraction
    pts: Tuple[int, ...]
    end_pts: int
    frame_rate: Fraction
    source_index: Optional[Tuple[int, ...]] = None

    @property
    def num_frames(self) -> int:
        """Number of output frames."""
        return len(self.pts)

    def source_of(self, index: int) -> int:
        """Index of the input frame that output frame ``index`` shows."""
        return index if self.source_index is None else self.source_index[index]

    def duration_of(self, index: int) -> int:
        """How long output frame ``index`` is shown, in ``time_base`` units."""
        following = self.pts[index + 1] if index + 1 < len(self.pts) else self.end_pts
        return following - self.pts[index]


def plan_timeline(source: VideoSource, fps: Optional[Fraction] = None) -> Timeline:
    """Lay out the output frames.

    Args:
        source: The probed input.
        fps: Constant output frame rate, or ``None`` to keep the input's frames and timestamps.

    Returns:
        The output timeline, starting at the input's :attr:`VideoSource.start_time`.
    """
    if fps is None:
        return _keep_input_timing(source)
    return _resample(source, Fraction(fps))


def _keep_input_timing(source: VideoSource) -> Timeline:
    origin = round(source.start_time / source.time_base)
    return Timeline(
        time_base=source.time_base,
        pts=tuple(pts - origin for pts in source.frame_pts),
        end_pts=source.end_pts - origin,
        frame_rate=source.frame_rate,
    )


def _resample(source: VideoSource, fps: Fraction) -> Timeline:
    if fps <= 0:
        raise ValueError(f'fps must be positive, got {fps}')
    first = source.frame_pts[0]
    offset = (first * source.time_base) - source.start_time  # the video may start after the audio
    timescale = fps.numerator * offset.denominator // math.gcd(fps.numerator, offset.denominator)
    if timescale > _MAX_TIMESCALE:
        timescale = fps.numerator
    time_base = Fraction(1, timescale)
    frame_ticks = fps.denominator * timescale // fps.numerator
    start_ticks = round(offset * timescale)

    count = max(1, round(source.duration * fps))
    input_starts = [(pts - first) * source.time_base for pts in source.frame_pts]
    # the input frame on screen at the middle of each output slot (a frame starting exactly there is not yet)
    source_index = tuple(max(0, bisect.bisect_left(input_starts, (k + Fraction(1, 2)) / fps) - 1) for k in range(count))
    return Timeline(
        time_base=time_base,
        pts=tuple(start_ticks + k * frame_ticks for k in range(count)),
        end_pts=start_ticks + count * frame_ticks,
        frame_rate=fps,
        source_index=source_index,
    )
