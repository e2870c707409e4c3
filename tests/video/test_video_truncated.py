"""Damaged input and the job's warnings: a truncated MP4 is upscaled as far as it goes, and the result says so.

The truncated files are made here: a clip remuxed with its index first (``faststart``, as files made for the web
are, so that a cut copy still opens), then cut in the middle of a chosen packet.
"""

import logging
import re
from fractions import Fraction
from pathlib import Path
from typing import List, Tuple

import av
import numpy as np
import pytest
from test_video_io import Resize, audio_packets, leftovers, make_clip, stream_info

from realesrgan.video import pipeline, upscale_video
from realesrgan.video.reader import describe_shortfall, probe_source, read_frames

NUM_FRAMES = 48


@pytest.fixture(scope='module')
def streaming_clip(tmp_path_factory) -> Path:
    """48 frames at 24 fps with AAC sound, its index (moov) before its data (mdat), packets interleaved."""
    folder = tmp_path_factory.mktemp('clips')
    plain = make_clip(folder / 'plain.mp4', num_frames=NUM_FRAMES, gop=12)
    path = folder / 'streaming.mp4'
    with av.open(str(plain)) as source, av.open(str(path), mode='w', options={'movflags': 'faststart'}) as output:
        streams = {stream.index: output.add_stream_from_template(stream) for stream in source.streams}
        for packet in source.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                output.mux(packet)
    return path


def packets(path: Path) -> List[Tuple[str, int, int, int]]:
    """(stream type, byte position, size, pts) of every packet, in file order."""
    with av.open(str(path)) as container:
        return [(p.stream.type, p.pos, p.size, p.pts) for p in container.demux() if p.size]


def cut_inside(path: Path, target: Path, kind: str, nth: int) -> int:
    """Copy ``path`` cut in the middle of its ``nth`` packet of type ``kind``; returns where it was cut."""
    chosen = [p for p in packets(path) if p[0] == kind][nth]
    cut = chosen[1] + chosen[2] // 2
    target.write_bytes(path.read_bytes()[:cut])
    return cut


def complete(path: Path, kind: str, cut: int) -> List[Tuple[str, int, int, int]]:
    """The packets of type ``kind`` that lie wholly before ``cut``."""
    return [p for p in packets(path) if p[0] == kind and p[1] + p[2] <= cut]


def stream_end(path: Path, kind: str) -> float:
    """When the last packet of the first ``kind`` stream ends, in seconds."""
    with av.open(str(path)) as container:
        stream = getattr(container.streams, kind)[0]
        return float(max((p.pts + p.duration) * p.time_base for p in container.demux(stream) if p.size))


@pytest.mark.subprocess
def test_audio_cut_short_keeps_every_readable_frame_and_reports_the_shortfall(tmp_path, streaming_clip):
    truncated = tmp_path / 'cut.mp4'
    cut = cut_inside(streaming_clip, truncated, 'audio', 16)
    readable = len(complete(streaming_clip, 'video', cut))
    assert 10 < readable < NUM_FRAMES
    output = tmp_path / 'out' / 'cut_out.mp4'
    result = upscale_video(str(truncated), str(output), Resize(2), segment_length=8)

    assert result.num_frames == readable and stream_info(output)['frames'] == readable
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert f'cut.mp4 declares {NUM_FRAMES} frames but only {readable} can be read' in warning
    assert 'the file is truncated or damaged' in warning
    # all the sound the cut file holds is copied bit for bit, the cut-off packet is left out: the audio ends
    # 0.2 s before the video because the muxer interleaved by decoding time, which runs ahead of the video's
    # presentation time by its B-frame delay; the audio after that point was cut off with the file
    whole_packets = audio_packets(streaming_clip)[: len(complete(streaming_clip, 'audio', cut))]
    assert audio_packets(output) == whole_packets
    # the times in the warning are those of the output
    video_end, audio_end = re.search(r'frames \(to ([\d.]+) s\) and the audio .* \(to ([\d.]+) s\)', warning).groups()
    assert float(video_end) == pytest.approx(stream_end(output, 'video'), abs=0.006)
    assert float(audio_end) == pytest.approx(stream_end(output, 'audio'), abs=0.006)
    assert leftovers(output.parent) == ['cut_out.mp4']


@pytest.mark.subprocess
def test_video_packet_cut_in_half_is_left_out_and_the_rest_decodes_cleanly(tmp_path, streaming_clip):
    """Fed to the decoder, the half packet made it drop the frames before it: the job failed at the last segment."""
    truncated = tmp_path / 'cut.mp4'
    video = [p for p in packets(streaming_clip) if p[0] == 'video']
    nth = next(i for i, p in enumerate(video) if i > 20 and p[2] > 30)  # a frame with some data to cut
    cut = cut_inside(streaming_clip, truncated, 'video', nth)
    readable = len(complete(streaming_clip, 'video', cut))
    source = probe_source(str(truncated))
    assert (source.num_frames, source.declared_frames, source.incomplete_frames) == (readable, NUM_FRAMES, 1)
    # every readable frame decodes to exactly what the whole file gives at that time
    whole = probe_source(str(streaming_clip))
    reference = dict(zip(whole.frame_pts, (image for _, image in read_frames(whole, 0, whole.num_frames))))
    for index, image in read_frames(source, 0, source.num_frames):
        np.testing.assert_array_equal(image, reference[source.frame_pts[index]])

    output = tmp_path / 'cut_out.mp4'
    result = upscale_video(str(truncated), str(output), Resize(1), segment_length=8)
    assert result.num_frames == readable and stream_info(output)['frames'] == readable
    assert f'declares {NUM_FRAMES} frames but only {readable} can be read' in result.warnings[0]


def test_a_whole_file_has_no_shortfall(streaming_clip):
    source = probe_source(str(streaming_clip))
    assert (source.num_frames, source.declared_frames, source.incomplete_frames) == (NUM_FRAMES, NUM_FRAMES, 0)
    assert describe_shortfall(source) is None
    assert source.audio_end == Fraction(NUM_FRAMES, 24)  # the sound lasts as long as the frames


class WarnEveryFrame(Resize):
    """Stand-in that logs the same warning for every frame, as a library it calls might."""

    def upscale(self, image: np.ndarray) -> np.ndarray:
        logging.getLogger('realesrgan.video.standin').warning('stand-in noticed something')
        return super().upscale(image)


@pytest.mark.subprocess
def test_warnings_of_the_workers_reach_the_result_once_with_a_count(tmp_path, caplog):
    clip = make_clip(tmp_path / 'clip.mp4', num_frames=6, audio=None)
    with caplog.at_level(logging.WARNING, logger='realesrgan.video'):
        result = upscale_video(
            str(clip), str(tmp_path / 'o.mp4'), WarnEveryFrame(1), devices=['cpu', 'cpu'], segment_length=2
        )
    assert result.warnings == ('stand-in noticed something (6 times)',)
    assert [r.getMessage() for r in caplog.records] == ['stand-in noticed something']  # logged in the parent, once


def test_many_different_warnings_are_cut_to_a_readable_list():
    warnings = pipeline._Warnings()
    for k in range(30):
        warnings.add(f'frame {k} is odd')
    lines = warnings.lines()
    assert len(lines) == pipeline._MAX_WARNINGS
    assert lines[0] == 'frame 0 is odd' and lines[-1] == '... and 11 more warnings (see the log)'
