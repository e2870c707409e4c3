"""Video I/O and orchestration (realesrgan.video) with a simple stand-in upscaler, on clips made here with PyAV.

The stand-ins are module-level classes so that worker processes can unpickle them. The real Real-ESRGAN
upscaler and the command line are tested in test_video_cli.py.
"""

import os
import queue
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import List, Optional, Tuple

import av
import cv2
import numpy as np
import pytest

from realesrgan.execution.local_pool import PoolWatcher
from realesrgan.video import EncoderSettings, VideoInputError, VideoJobError, pipeline, upscale_video, worker_devices
from realesrgan.video.reader import probe_source, read_frames
from realesrgan.video.segments import default_segment_length, plan_segments
from realesrgan.video.timeline import plan_timeline
from realesrgan.video.writer import SegmentWriter, decode_time_shift, pad_to_even
from realesrgan.video.x264 import repeatable_x264_params

INPUTS = Path(__file__).resolve().parents[2] / 'inputs'


# ---------------------------------------------------------------- clips and helpers (also used by test_video_cli)
def clip_frames(size: Tuple[int, int], num_frames: int) -> List[np.ndarray]:
    """A pan over the astronaut photo (2 pixels a frame), downscaled to ``size`` (width, height): real content."""
    photo = cv2.imread(str(INPUTS / 'astronaut.png'), cv2.IMREAD_COLOR)
    width, height = size
    window = (min(photo.shape[1] - 2 * num_frames, 2 * width), min(photo.shape[0], 2 * height))
    return [
        cv2.resize(photo[: window[1], 2 * k : 2 * k + window[0]], (width, height), interpolation=cv2.INTER_AREA)
        for k in range(num_frames)
    ]


def make_clip(
    path: Path,
    size: Tuple[int, int] = (48, 32),
    num_frames: int = 10,
    fps: int = 24,
    audio: Optional[str] = 'aac',
    gop: int = 4,
    container: Optional[str] = None,
) -> Path:
    """Write a short H.264 clip (B-frames, a keyframe every ``gop`` frames), optionally with a mono sine track."""
    with av.open(str(path), mode='w', format=container) as output:
        video = output.add_stream('libx264', rate=fps, options={'g': str(gop), 'bf': '2', 'preset': 'fast'})
        video.width, video.height, video.pix_fmt = size[0], size[1], 'yuv420p'
        sound = None
        if audio:
            sound = output.add_stream(audio, rate=16000)
            sound.layout = 'mono'
        for image in clip_frames(size, num_frames):
            output.mux(video.encode(av.VideoFrame.from_ndarray(image, format='bgr24')))
        output.mux(video.encode(None))
        if sound is not None:
            samples = round(16000 * num_frames / fps)
            wave = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / 16000)).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(wave[None], format='flt', layout='mono')
            frame.sample_rate, frame.pts = 16000, 0
            output.mux(sound.encode(frame))
            output.mux(sound.encode(None))
    return path


def decode_all(path: Path) -> List[np.ndarray]:
    """Every frame of a video as BGR uint8, through the package's reader."""
    source = probe_source(str(path))
    return [image for _, image in read_frames(source, 0, source.num_frames)]


def audio_packets(path: Path) -> List[bytes]:
    """The compressed audio packets of the first audio stream."""
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def stream_info(path: Path) -> dict:
    """Size, frame count, rate and durations (seconds) of a file's streams."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        info = dict(
            size=(video.codec_context.width, video.codec_context.height),
            frames=sum(1 for p in container.demux(video) if p.size),
            rate=video.average_rate,
            video_duration=float(video.duration * video.time_base),
            audio=[s.codec_context.name for s in container.streams.audio],
            pix_fmt=video.codec_context.pix_fmt,
        )
        if container.streams.audio:
            audio = container.streams.audio[0]
            info['audio_duration'] = float(audio.duration * audio.time_base)
    return info


def psnr(reference: np.ndarray, other: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (infinite when equal)."""
    mse = np.mean((reference.astype(np.float64) - other.astype(np.float64)) ** 2)
    return float('inf') if mse == 0 else 10 * np.log10(255.0**2 / mse)


def best_matches(frames: List[np.ndarray], references: List[np.ndarray]) -> List[int]:
    """For each frame, the index of the reference it is closest to (checks order without a PSNR threshold)."""
    return [int(np.argmax([psnr(reference, frame) for reference in references])) for frame in frames]


class Resize:
    """Stand-in upscaler factory: plain cv2 resize by ``scale`` (fast, deterministic)."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def __call__(self, device: str):
        return self.upscale

    def upscale(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        size = (int(width * self.scale), int(height * self.scale))
        return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


class CrashAt(Resize):
    """Stand-in that kills its own process (no Python exception, like a native crash) at frame ``at``."""

    def __init__(self, at: int) -> None:
        super().__init__(2)
        self.at = at
        self.seen = 0

    def upscale(self, image: np.ndarray) -> np.ndarray:
        if self.seen == self.at:
            os._exit(3)
        self.seen += 1
        return super().upscale(image)


class RaiseAt(CrashAt):
    """Stand-in that raises at frame ``at``."""

    def upscale(self, image: np.ndarray) -> np.ndarray:
        if self.seen == self.at:
            raise MemoryError('stand-in ran out of memory')
        self.seen += 1
        return Resize.upscale(self, image)


class BrokenFactory:
    """Stand-in whose upscaler cannot even be built."""

    def __call__(self, device: str):
        raise RuntimeError(f'no weights for the stand-in on {device}')


@pytest.fixture(scope='module')
def clip(tmp_path_factory) -> Path:
    """48x32, 10 frames at 24 fps, keyframe every 4 frames, B-frames, AAC audio."""
    return make_clip(tmp_path_factory.mktemp('clips') / 'clip.mp4')


@pytest.fixture(scope='module')
def silent_clip(tmp_path_factory) -> Path:
    """46x30, 7 frames at 25 fps, no audio."""
    return make_clip(tmp_path_factory.mktemp('clips') / 'silent.mp4', size=(46, 30), num_frames=7, fps=25, audio=None)


def leftovers(folder: Path) -> List[str]:
    """Everything in ``folder`` except the input clips: temporary files the job should have removed."""
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------- reading
def test_probe_reports_size_frames_rate_and_audio(clip):
    source = probe_source(str(clip))
    assert (source.width, source.height, source.num_frames) == (48, 32, 10)
    assert source.frame_rate == 24
    assert source.audio_streams == 1
    assert source.duration == Fraction(10, 24)
    assert source.seekable


def test_reading_from_the_middle_seeks_to_the_same_frames(clip):
    source = probe_source(str(clip))
    everything = [image for _, image in read_frames(source, 0, 10)]
    middle = list(read_frames(source, 5, 9))  # starts between two keyframes (4 and 8)
    assert [index for index, _ in middle] == [5, 6, 7, 8]
    for index, image in middle:
        np.testing.assert_array_equal(image, everything[index])
    # the decoded frames are the clip's frames up to the H.264 loss
    assert min(psnr(a, b) for a, b in zip(clip_frames((48, 32), 10), everything)) > 30


def test_folder_of_frames_sorted_by_name_any_image_kind(tmp_path):
    frames = clip_frames((20, 12), 4)
    cv2.imwrite(str(tmp_path / 'f2.png'), frames[2])
    cv2.imwrite(str(tmp_path / 'f0.png'), frames[0])
    cv2.imwrite(str(tmp_path / 'f1.png'), cv2.cvtColor(frames[1], cv2.COLOR_BGR2GRAY))  # gray
    cv2.imwrite(str(tmp_path / 'f3.png'), frames[3].astype(np.uint16) * 257)  # 16-bit
    (tmp_path / 'notes.txt').write_text('not a frame')
    source = probe_source(str(tmp_path), fps=Fraction(30))
    assert (source.width, source.height, source.num_frames, source.frame_rate) == (20, 12, 4, 30)
    assert source.audio_streams == 0
    images = [image for _, image in read_frames(source, 0, 4)]
    assert all(image.shape == (12, 20, 3) and image.dtype == np.uint8 for image in images)
    np.testing.assert_array_equal(images[0], frames[0])
    np.testing.assert_array_equal(images[2], frames[2])
    np.testing.assert_array_equal(images[3], frames[3])
    np.testing.assert_array_equal(images[1][..., 0], cv2.cvtColor(frames[1], cv2.COLOR_BGR2GRAY))
    assert probe_source(str(tmp_path)).frame_rate == 24  # the default without --fps


def test_folder_with_a_frame_of_another_size_names_it(tmp_path):
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((12, 20, 3), np.uint8))
    cv2.imwrite(str(tmp_path / 'b.png'), np.zeros((14, 20, 3), np.uint8))
    with pytest.raises(VideoInputError, match=r'b\.png is 20x14, but the first frame is 20x12'):
        probe_source(str(tmp_path))


@pytest.mark.parametrize('kind', ['missing', 'text', 'image', 'audio_only', 'empty_folder'])
def test_bad_inputs_get_clear_messages(tmp_path, kind):
    expected = {
        'missing': 'does not exist',
        'text': 'is not a video file that FFmpeg can read',
        'image': 'is a single image, not a video',
        'audio_only': r'has no video stream \(streams found: audio\)',
        'empty_folder': 'holds no frames',
    }[kind]
    path = tmp_path / kind
    if kind == 'text':
        path.write_text('hello, this is not a video\n' * 20)
    elif kind == 'image':
        path = tmp_path / 'still.png'
        cv2.imwrite(str(path), np.zeros((8, 8, 3), np.uint8))
    elif kind == 'audio_only':
        path = tmp_path / 'sound.m4a'
        with av.open(str(path), mode='w') as output:
            stream = output.add_stream('aac', rate=16000)
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 4096), np.float32), format='fltp', layout='mono')
            frame.sample_rate = 16000
            output.mux(stream.encode(frame))
            output.mux(stream.encode(None))
    elif kind == 'empty_folder':
        path.mkdir()
    with pytest.raises(VideoInputError, match=expected):
        upscale_video(str(path), str(tmp_path / 'out' / 'x.mp4'), Resize(2))
    assert not (tmp_path / 'out').exists() or leftovers(tmp_path / 'out') == []


def test_stream_without_timestamps_is_read_in_order(tmp_path, clip):
    raw = tmp_path / 'raw.h264'  # an elementary stream: packets carry no timestamps
    with av.open(str(clip)) as container, av.open(str(raw), mode='w', format='h264') as output:
        stream = output.add_stream_from_template(container.streams.video[0])
        for packet in container.demux(container.streams.video[0]):
            if packet.size:
                packet.stream = stream
                output.mux(packet)
    source = probe_source(str(raw))
    assert source.num_frames == 10 and not source.seekable
    frames = [image for _, image in read_frames(source, 3, 6)]
    reference = decode_all(clip)
    for image, expected in zip(frames, reference[3:6]):
        np.testing.assert_array_equal(image, expected)


# ---------------------------------------------------------------- planning
def test_timeline_keeps_input_timing_or_resamples_to_fps(clip):
    source = probe_source(str(clip))
    same = plan_timeline(source)
    assert same.num_frames == 10 and same.source_index is None
    assert (same.end_pts - same.pts[0]) * same.time_base == Fraction(10, 24)
    half = plan_timeline(source, Fraction(12))
    assert half.source_index == (0, 2, 4, 6, 8)
    assert half.end_pts * half.time_base == Fraction(10, 24)
    double = plan_timeline(source, Fraction(48))
    assert double.source_index == tuple(k // 2 for k in range(20))
    assert [double.duration_of(k) * double.time_base for k in (0, 19)] == [Fraction(1, 48)] * 2


def test_segments_are_contiguous_and_independent_of_worker_count():
    segments = plan_segments(23, 5)
    assert [(s.start, s.stop) for s in segments] == [(0, 5), (5, 10), (10, 15), (15, 20), (20, 23)]
    assert segments[1].describe(len(segments)) == 'segment 2 of 5 (frames 5-9)'
    assert default_segment_length(48) == 12
    assert default_segment_length(100000) == 250
    assert sum(s.num_frames for s in plan_segments(1000)) == 1000


def test_worker_devices():
    assert worker_devices('cpu', 2) == ['cpu', 'cpu']
    assert worker_devices('cuda', 2, cuda_device_count=2) == ['cuda:0', 'cuda:1', 'cuda:0', 'cuda:1']
    with pytest.raises(ValueError, match='at least 1'):
        worker_devices('cpu', 0)


def test_pad_to_even_repeats_the_last_row_and_column():
    image = np.arange(3 * 5 * 3, dtype=np.uint8).reshape(3, 5, 3)
    padded = pad_to_even(image)
    assert padded.shape == (4, 6, 3)
    np.testing.assert_array_equal(padded[:3, :5], image)
    np.testing.assert_array_equal(padded[3, :5], image[2])
    np.testing.assert_array_equal(padded[:3, 5], image[:, 4])
    assert pad_to_even(padded) is padded


def test_unset_decode_times_are_moved_onto_the_presentation_times():
    def shift(pts, dts):
        packet = av.Packet(b'\x00')
        packet.pts, packet.dts = pts, dts
        return decode_time_shift(packet, frame_ticks=512)

    assert shift(1536, -8162898880559645) == 1536 + 8162898880559645  # what libx265 left there (a failed segment)
    assert shift(1536, 7887074573433672570) == 1536 - 7887074573433672570
    assert shift(1536, 1536 - 16 * 512 - 1) == 16 * 512 + 1
    assert shift(1536, 512) == 0  # two frames of encoder delay: kept
    assert shift(1536, 1536 - 16 * 512) == 0
    assert shift(1536, 1536) == shift(1536, None) == 0


@pytest.mark.slow
def test_one_and_two_frame_h265_segments_always_mux(tmp_path):
    """libx265 gave 6 in 100 such segments garbage decode times, which the MP4 muxer refused."""
    if 'mp4' not in EncoderSettings(codec='h265').spec.containers:
        pytest.skip('h265 does not go into MP4 here')
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    time_base, frame_rate = Fraction(1, 12288), Fraction(24)
    for trial in range(40):
        path = tmp_path / f'segment_{trial}.mp4'
        frames = 1 + trial % 2
        with SegmentWriter(str(path), EncoderSettings(codec='h265'), time_base, frame_rate) as writer:
            for index in range(frames):
                writer.write(image, pts=(3 + index) * 512, duration=512)
        with av.open(str(path)) as container:
            packets = [packet for packet in container.demux(video=0) if packet.size]
        assert [packet.pts for packet in packets] == [(3 + index) * 512 for index in range(frames)]


def test_encoder_settings_reject_bad_values():
    with pytest.raises(ValueError, match='crf'):
        EncoderSettings(crf=60)
    with pytest.raises(ValueError, match='pix_fmt'):
        EncoderSettings(pix_fmt='rgb24')


def test_encoding_the_same_frames_again_gives_the_same_bytes(tmp_path, clip):
    """x264's AVX-512 code made this fail about every other time (see realesrgan.video.x264)."""
    source = probe_source(str(clip))
    encoded = set()
    for attempt in range(8):
        path = tmp_path / f'{attempt}.mp4'
        with SegmentWriter(str(path), EncoderSettings(), source.time_base, source.frame_rate) as writer:
            for index, image in read_frames(source, 0, 3):  # decoding in between stirs the heap, as in a worker
                writer.write(Resize(2).upscale(image), source.frame_pts[index], 512)
        encoded.add(path.read_bytes())
    assert len(encoded) == 1
    assert 'AVX512' not in repeatable_x264_params().get('x264-params', '')


# ---------------------------------------------------------------- whole jobs with the stand-in
@pytest.mark.subprocess
def test_job_scales_keeps_frames_rate_duration_and_copies_audio(tmp_path, clip):
    output = tmp_path / 'out' / 'clip_out.mp4'
    counted = []
    result = upscale_video(
        str(clip), str(output), Resize(4), segment_length=3, progress=counted.append, on_start=counted.append
    )
    assert (result.num_frames, result.num_segments, result.audio_streams) == (10, 4, 1)
    assert counted[0] == 10 and sum(counted[1:]) == 10
    before, after = stream_info(clip), stream_info(output)
    assert after['size'] == (192, 128) and after['frames'] == 10 and after['rate'] == 24
    assert after['video_duration'] == pytest.approx(before['video_duration'], abs=1e-6)
    assert after['audio'] == ['aac'] and after['audio_duration'] == pytest.approx(before['audio_duration'])
    assert audio_packets(output) == audio_packets(clip)  # copied bit for bit
    expected = [Resize(4).upscale(image) for image in decode_all(clip)]
    assert min(psnr(a, b) for a, b in zip(expected, decode_all(output))) >= 35  # crf 23, yuv420p
    assert leftovers(output.parent) == ['clip_out.mp4']


@pytest.mark.subprocess
def test_two_workers_give_the_same_file_as_one(tmp_path, clip):
    one, two = tmp_path / 'one.mp4', tmp_path / 'two.mp4'
    upscale_video(str(clip), str(one), Resize(2), devices=['cpu'], segment_length=3)
    result = upscale_video(str(clip), str(two), Resize(2), devices=['cpu', 'cpu'], segment_length=3)
    assert result.num_workers == 2
    assert one.read_bytes() == two.read_bytes()
    for a, b in zip(decode_all(one), decode_all(two)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.subprocess
def test_odd_output_size_is_padded_by_one_pixel(tmp_path):
    clip = make_clip(tmp_path / 'odd.mp4', size=(48, 32), num_frames=4, audio=None)
    output = tmp_path / 'odd_out.mp4'
    upscale_video(str(clip), str(output), Resize(1.48), segment_length=2)  # 48x32 -> 71x47, padded to 72x48
    assert stream_info(output)['size'] == (72, 48)
    frames = decode_all(output)
    expected = [pad_to_even(Resize(1.48).upscale(image)) for image in decode_all(clip)]
    assert expected[0].shape == (48, 72, 3)
    assert best_matches(frames, expected) == [0, 1, 2, 3]
    # the added column and row repeat their neighbours (up to the encoding loss)
    assert np.abs(frames[0][:, 71].astype(int) - frames[0][:, 70]).mean() < 4
    assert np.abs(frames[0][47].astype(int) - frames[0][46]).mean() < 4
    # yuv444p keeps the odd size
    output444 = tmp_path / 'odd_444.mp4'
    upscale_video(str(clip), str(output444), Resize(1.48), encoder=EncoderSettings(pix_fmt='yuv444p'))
    assert stream_info(output444)['size'] == (71, 47)


@pytest.mark.subprocess
def test_lossless_settings_are_near_lossless(tmp_path, silent_clip):
    output = tmp_path / 'lossless.mp4'
    upscale_video(str(silent_clip), str(output), Resize(2), encoder=EncoderSettings(crf=0, pix_fmt='yuv444p'))
    info = stream_info(output)
    assert info['audio'] == [] and info['frames'] == 7 and info['rate'] == 25 and info['pix_fmt'] == 'yuv444p'
    expected = [Resize(2).upscale(image) for image in decode_all(silent_clip)]
    assert min(psnr(a, b) for a, b in zip(expected, decode_all(output))) >= 50


@pytest.mark.subprocess
def test_fps_resamples_frames_and_keeps_duration_and_audio(tmp_path, clip):
    output = tmp_path / 'fps.mp4'
    result = upscale_video(str(clip), str(output), Resize(1), fps=Fraction(12))
    info, before = stream_info(output), stream_info(clip)
    assert result.num_frames == 5 and info['frames'] == 5 and info['rate'] == 12
    assert info['video_duration'] == pytest.approx(before['video_duration'], abs=1e-6)
    assert audio_packets(output) == audio_packets(clip)
    assert best_matches(decode_all(output), decode_all(clip)) == [0, 2, 4, 6, 8]


@pytest.mark.subprocess
def test_extract_frame_first_gives_the_same_file(tmp_path, clip):
    direct, extracted = tmp_path / 'direct.mp4', tmp_path / 'extracted.mp4'
    upscale_video(str(clip), str(direct), Resize(2), segment_length=5)
    upscale_video(str(clip), str(extracted), Resize(2), segment_length=5, extract_frame_first=True)
    assert direct.read_bytes() == extracted.read_bytes()
    assert leftovers(tmp_path) == ['direct.mp4', 'extracted.mp4']


@pytest.mark.subprocess
def test_audio_mp4_cannot_hold_is_reencoded_to_aac(tmp_path):
    clip = make_clip(tmp_path / 'old.avi', num_frames=6, audio='pcm_mulaw', container='avi')
    output = tmp_path / 'old_out.mp4'
    upscale_video(str(clip), str(output), Resize(1))
    info = stream_info(output)
    assert info['audio'] == ['aac'] and info['frames'] == 6
    assert info['audio_duration'] == pytest.approx(6 / 24, abs=0.07)  # AAC works in 1024-sample frames


@pytest.mark.subprocess
def test_matroska_input_with_millisecond_timestamps(tmp_path):
    clip = make_clip(tmp_path / 'clip.mkv', num_frames=6, container='matroska')
    output = tmp_path / 'clip_out.mp4'
    upscale_video(str(clip), str(output), Resize(2), segment_length=4)
    info = stream_info(output)
    assert info['frames'] == 6 and info['size'] == (96, 64) and info['audio'] == ['aac']
    assert info['video_duration'] == pytest.approx(6 / 24, abs=1e-3)  # matroska counts in milliseconds
    assert audio_packets(output) == audio_packets(clip)
    assert best_matches(decode_all(output), [Resize(2).upscale(i) for i in decode_all(clip)]) == list(range(6))


# ---------------------------------------------------------------- failures
@pytest.mark.parametrize(
    'factory, message',
    [
        (CrashAt(4), r'worker \d died \(exit code 3\) while upscaling segment 2 of 4 \(frames 3-5\)'),
        (RaiseAt(4), r'segment 2 of 4 \(frames 3-5\) failed in worker \d: MemoryError: stand-in ran out of memory'),
        (BrokenFactory(), r'worker \d could not start: RuntimeError: no weights for the stand-in on cpu'),
    ],
)
@pytest.mark.subprocess
def test_failing_worker_fails_the_job_cleanly(tmp_path, clip, factory, message):
    output = tmp_path / 'out' / 'clip_out.mp4'
    with pytest.raises(VideoJobError, match=message):
        upscale_video(str(clip), str(output), factory, devices=['cpu'], segment_length=3)
    assert leftovers(output.parent) == []  # no output under the final name, no temporary files


@pytest.mark.subprocess
def test_damaged_frame_in_a_folder_fails_the_job_naming_it(tmp_path):
    frames = tmp_path / 'frames'
    frames.mkdir()
    for k, image in enumerate(clip_frames((20, 12), 5)):
        cv2.imwrite(str(frames / f'{k:03d}.png'), image)
    damaged = frames / '003.png'
    damaged.write_bytes(damaged.read_bytes()[:60])  # the header (and size) survive, the pixels do not
    output = tmp_path / 'out' / 'frames_out.mp4'
    with pytest.raises(
        VideoJobError,
        match=r'segment 2 of 3 \(frames 2-3\) failed in worker \d: VideoInputError: '
        r'frame .*003\.png is not an image that OpenCV can read',
    ):
        upscale_video(str(frames), str(output), Resize(2), segment_length=2)
    assert leftovers(output.parent) == []


class ScriptedEvents:
    """A stand-in event queue that is empty at first, then delivers ``events`` (late, as from exiting workers)."""

    def __init__(self, events: list) -> None:
        self.pending = [None] + list(events)

    def get(self, timeout: float) -> tuple:
        event = self.pending.pop(0) if self.pending else None
        if event is None:
            raise queue.Empty
        return event


def segment_watcher(workers, segments) -> PoolWatcher:
    listener = pipeline._SegmentListener(segments, None, pipeline._Warnings())
    return PoolWatcher(workers, ['cpu'] * len(workers), len(segments), listener)


def test_watcher_waits_for_the_last_events_of_workers_that_exited():
    """Both workers exited cleanly and their 'done' events arrive after the exits are seen: not an error."""
    workers = [SimpleNamespace(exitcode=0), SimpleNamespace(exitcode=0)]
    segments = plan_segments(4, 2)
    late = [('started', 0, 0), ('started', 1, 1), ('done', 0, 0, 0), ('done', 1, 1, 1)]
    segment_watcher(workers, segments).watch(ScriptedEvents(late))
    # the same exits with a segment still unfinished are an error naming it
    unfinished = late[:3]
    with pytest.raises(VideoJobError, match=r'worker 1 died \(exit code 0\) while upscaling segment 2 of 2'):
        segment_watcher(workers, segments).watch(ScriptedEvents(unfinished))
    killed = [SimpleNamespace(exitcode=0), SimpleNamespace(exitcode=-9)]
    with pytest.raises(VideoJobError, match=r'worker 1 died \(killed by SIGKILL, often: out of memory\)'):
        segment_watcher(killed, segments).watch(ScriptedEvents(unfinished))


def test_unwritable_output_folder(tmp_path, clip):
    blocker = tmp_path / 'a_file'
    blocker.write_text('x')
    with pytest.raises(VideoInputError, match='cannot write to the output folder'):
        upscale_video(str(clip), str(blocker / 'sub' / 'out.mp4'), Resize(2))
