"""Everything but the pixels survives the video job (issue 29): streams, metadata, chapters, rotation, aspect
ratio, colour and 10-bit depth, the codec/container table, exact timestamps, and resuming a killed job.

The clips are made here with PyAV, a few small frames each; the stand-in upscalers of test_video_io resize.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Dict, List, Optional

import av
import numpy as np
import pytest
from av.subtitles.subtitle import SubtitleSet
from test_video_io import Resize, clip_frames, decode_all, leftovers, make_clip
from test_video_kill import SlowResize, running, wait_until_gone, worker_pids

from realesrgan.video import CODECS, EncoderSettings, VideoInputError, upscale_video
from realesrgan.video.naming import output_file

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTS = Path(__file__).resolve().parent

ASS_HEADER = b"""[Script Info]
ScriptType: v4.00+
PlayResX: 384
PlayResY: 288

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, \
MarginV, Encoding
Style: Default,Test Font,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""
FONT = b'\x00\x01\x00\x00 not really a font, but attached as one' * 4
SUBTITLES = {'eng': ['Hello', 'World'], 'jpn': ['Konnichiwa', 'Sekai']}
DEFAULT, FORCED = av.stream.Disposition.default, av.stream.Disposition.forced


# ---------------------------------------------------------------- clips
def _tone(stream: av.AudioStream, seconds: float, hz: float) -> List[av.Packet]:
    wave = (0.3 * np.sin(2 * np.pi * hz * np.arange(round(16000 * seconds)) / 16000)).astype(np.float32)
    frame = av.AudioFrame.from_ndarray(wave[None], format='flt', layout='mono')
    frame.sample_rate, frame.pts = 16000, 0
    return stream.encode(frame) + stream.encode(None)


def make_rich_mkv(path: Path, num_frames: int = 8) -> Path:
    """H.264 with two audio tracks, a SubRip and an ASS subtitle stream, a font attachment, chapters and titles."""
    with av.open(str(path), mode='w') as output:
        output.metadata['title'] = 'A rich clip'
        video = output.add_stream('libx264', rate=24, options={'g': '4'})
        video.width, video.height, video.pix_fmt = 48, 32, 'yuv420p'
        video.metadata.update(language='eng', title='Picture')
        audio = []
        for language, title in (('eng', 'Main'), ('jpn', 'Commentary')):
            stream = output.add_stream('aac', rate=16000)
            stream.layout = 'mono'
            stream.metadata.update(language=language, title=title)
            audio.append(stream)
        audio[0].disposition = DEFAULT
        subtitles = []
        for codec, language, disposition in (('subrip', 'eng', DEFAULT), ('ass', 'jpn', FORCED)):
            stream = output.add_stream(codec)
            stream.time_base = Fraction(1, 1000)
            stream.codec_context.subtitle_header = ASS_HEADER
            stream.metadata.update(language=language, title=f'{language} lines')
            stream.disposition = disposition
            subtitles.append(stream)
        output.add_attachment('TestFont.ttf', 'application/x-truetype-font', FONT)
        output.set_chapters(
            [
                {'id': 1, 'start': 0, 'end': 150, 'time_base': Fraction(1, 1000), 'metadata': {'title': 'Opening'}},
                {'id': 2, 'start': 150, 'end': 333, 'time_base': Fraction(1, 1000), 'metadata': {'title': 'Ending'}},
            ]
        )
        for image in clip_frames((48, 32), num_frames):
            output.mux(video.encode(av.VideoFrame.from_ndarray(image, format='bgr24')))
        output.mux(video.encode(None))
        for stream, hz in zip(audio, (440, 660)):
            output.mux(_tone(stream, num_frames / 24, hz))
        for stream, lines in zip(subtitles, SUBTITLES.values()):
            for k, line in enumerate(lines):
                text = f'{k},0,Default,,0,0,0,,{line}'.encode()
                packet = stream.codec_context.encode_subtitle(SubtitleSet.create(text, 0, 100, pts=k * 150))
                packet.stream, packet.time_base = stream, Fraction(1, 1000)
                packet.pts = packet.dts = k * 150
                packet.duration = 100
                output.mux(packet)
    return path


def make_picture_clip(
    path: Path,
    codec: str = 'libx264',
    pix_fmt: str = 'yuv420p',
    size=(48, 32),
    num_frames: int = 4,
    rotation: Optional[int] = None,
    sample_aspect_ratio: Optional[Fraction] = None,
    color: Optional[Dict[str, int]] = None,
) -> Path:
    """A silent clip with the given picture description (rotation, SAR, colour tags, depth)."""
    with av.open(str(path), mode='w') as output:
        options = {'x265-params': 'log-level=error'} if codec == 'libx265' else {}
        video = output.add_stream(codec, rate=24, options=options)
        video.width, video.height, video.pix_fmt = size[0], size[1], pix_fmt
        if rotation is not None:
            video.set_display_rotation(rotation)
        if sample_aspect_ratio is not None:
            video.codec_context.sample_aspect_ratio = sample_aspect_ratio
        for name, value in (color or {}).items():
            setattr(video.codec_context, name, value)
        high = pix_fmt.endswith('10le')
        for image in clip_frames(size, num_frames):
            if high:  # a smooth ramp added below the 8-bit step, so that 10 bits carry more than 8
                ramp = np.linspace(0, 255, size[0], dtype=np.float64)[None, :, None]
                image = np.clip(image.astype(np.float64) * 257 + ramp, 0, 65535).astype(np.uint16)
            frame = av.VideoFrame.from_ndarray(image, format='bgr48le' if high else 'bgr24')
            if color:
                frame = frame.reformat(format=pix_fmt, dst_colorspace=color['colorspace'], dst_color_range=1)
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
    return path


# ---------------------------------------------------------------- what to compare
def subtitle_lines(path: Path) -> Dict[str, List[str]]:
    """The text of every subtitle stream, by language, without style tags."""
    found = {}
    with av.open(str(path)) as container:
        count = len(container.streams.subtitles)
    for index in range(count):
        with av.open(str(path)) as container:
            stream = container.streams.subtitles[index]
            lines = []
            for packet in container.demux(stream):
                for line in packet.decode() if packet.size else ():
                    text = line.ass.decode().split(',', 8)[8]
                    lines.append(re.sub(r'\{[^}]*\}', '', text))
            found[stream.metadata.get('language')] = lines
    return found


def describe_streams(path: Path) -> dict:
    """Per stream: type, codec, language, title and disposition; the attachments; the file's title and chapters."""
    with av.open(str(path)) as container:
        return dict(
            streams=[
                (
                    s.type,
                    s.codec_context.name if s.codec_context else None,
                    s.metadata.get('language'),
                    s.metadata.get('title'),
                    int(s.disposition),
                )
                for s in container.streams
                if s.type != 'attachment'
            ],
            attachments=[(s.name, s.mimetype, bytes(s.data)) for s in container.streams.attachments],
            title=container.metadata.get('title'),
            chapters=[
                (float(c['start'] * c['time_base']), float(c['end'] * c['time_base']), c['metadata']['title'])
                for c in container.chapters()
            ],
        )


def picture(path: Path) -> dict:
    """Frame count, size, pixel format and audio codecs of a file of any container."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        return dict(
            frames=sum(1 for packet in container.demux(video) if packet.size),
            size=(video.codec_context.width, video.codec_context.height),
            pix_fmt=video.codec_context.pix_fmt,
            audio=[stream.codec_context.name for stream in container.streams.audio],
        )


def first_frame(path: Path) -> av.VideoFrame:
    with av.open(str(path)) as container:
        return next(container.decode(video=0))


def video_times(path: Path) -> List[Fraction]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sorted(packet.pts * stream.time_base for packet in container.demux(stream) if packet.size)


class DepthCheck(Resize):
    """Stand-in that fails unless the frames it gets are uint16 (10-bit input seen at full precision)."""

    def upscale(self, image: np.ndarray) -> np.ndarray:
        if image.dtype != np.uint16:
            raise TypeError(f'got {image.dtype} frames, not uint16')
        return super().upscale(image)


# ---------------------------------------------------------------- streams, metadata, chapters
@pytest.fixture(scope='module')
def rich(tmp_path_factory) -> Path:
    return make_rich_mkv(tmp_path_factory.mktemp('rich') / 'rich.mkv')


@pytest.mark.subprocess
def test_mkv_keeps_every_stream_its_metadata_the_font_and_the_chapters(tmp_path, rich):
    output = tmp_path / 'rich_out.mkv'
    result = upscale_video(str(rich), str(output), Resize(2), segment_length=4)
    before, after = describe_streams(rich), describe_streams(output)
    assert [s[0] for s in after['streams']] == ['video', 'audio', 'audio', 'subtitle', 'subtitle']
    assert after['streams'] == before['streams']  # codecs, languages, titles, default/forced
    assert before['streams'][0] == ('video', 'h264', 'eng', 'Picture', 0)
    assert [s[4] for s in before['streams'][1:]] == [int(DEFAULT), 0, int(DEFAULT), int(FORCED)]
    assert after['attachments'] == before['attachments'] == [('TestFont.ttf', 'application/x-truetype-font', FONT)]
    assert after['title'] == 'A rich clip' and after['chapters'] == before['chapters']
    assert after['chapters'] == [(0.0, 0.15, 'Opening'), (0.15, 0.333, 'Ending')]
    assert subtitle_lines(output) == subtitle_lines(rich) == SUBTITLES
    assert result.warnings == ()
    assert picture(output)['frames'] == 8 and picture(output)['size'] == (96, 64)


@pytest.mark.subprocess
def test_mp4_converts_the_subtitles_and_names_the_font_it_cannot_hold_in_one_line(tmp_path, rich):
    output = tmp_path / 'rich_out.mp4'
    result = upscale_video(str(rich), str(output), Resize(2), segment_length=4)
    after = describe_streams(output)
    assert [s[:3] for s in after['streams'] if s[0] != 'data'] == [  # MP4 keeps its chapters in a data track
        ('video', 'h264', 'eng'),
        ('audio', 'aac', 'eng'),
        ('audio', 'aac', 'jpn'),
        ('subtitle', 'mov_text', 'eng'),
        ('subtitle', 'mov_text', 'jpn'),
    ]
    assert subtitle_lines(output) == SUBTITLES
    assert after['attachments'] == [] and after['title'] == 'A rich clip'
    assert [c[2] for c in after['chapters']] == ['Opening', 'Ending']
    assert len(result.warnings) == 1
    line = result.warnings[0]
    assert 'MP4 cannot hold attachment 5 (TestFont.ttf): left out' in line
    assert 'subtitle stream 3 (srt) to mov_text' in line and 'subtitle stream 4 (ssa) to mov_text' in line


# ---------------------------------------------------------------- geometry, colour and depth
@pytest.mark.subprocess
@pytest.mark.parametrize('extension', ['mp4', 'mkv'])
def test_a_phone_video_keeps_its_rotation(tmp_path, extension):
    clip = make_picture_clip(tmp_path / 'phone.mp4', rotation=90)
    assert first_frame(clip).rotation == 90
    output = tmp_path / f'phone_out.{extension}'
    upscale_video(str(clip), str(output), Resize(2))
    assert first_frame(output).rotation == 90
    assert picture(output)['size'] == (96, 64)  # stored as shot; players turn it


@pytest.mark.subprocess
def test_an_anamorphic_video_keeps_its_display_aspect(tmp_path):
    clip = make_picture_clip(tmp_path / 'anamorphic.mkv', sample_aspect_ratio=Fraction(4, 3))
    output = tmp_path / 'anamorphic_out.mp4'
    upscale_video(str(clip), str(output), Resize(2))
    with av.open(str(clip)) as before, av.open(str(output)) as after:
        assert after.streams.video[0].sample_aspect_ratio == Fraction(4, 3)
        assert after.streams.video[0].display_aspect_ratio == before.streams.video[0].display_aspect_ratio == 2


@pytest.mark.subprocess
def test_10_bit_hdr_gives_10_bit_output_with_the_same_colour_tags(tmp_path):
    tags = dict(color_primaries=9, color_trc=16, colorspace=9, color_range=1)  # BT.2020, PQ, BT.2020 NCL, limited
    clip = make_picture_clip(tmp_path / 'hdr.mkv', 'libx265', 'yuv420p10le', size=(64, 64), color=tags)
    output = tmp_path / 'hdr_out.mkv'
    result = upscale_video(str(clip), str(output), DepthCheck(2), encoder=EncoderSettings(codec='h265'))
    assert result.encoder.pix_fmt == 'yuv420p10le'
    with av.open(str(output)) as container:
        codec = container.streams.video[0].codec_context
        assert codec.name == 'hevc' and codec.pix_fmt == 'yuv420p10le'
        assert {name: getattr(codec, name) for name in tags} == tags
        luma = next(container.decode(video=0)).to_ndarray()[: 128 * 1]  # the Y plane, 10-bit values
    assert luma.max() > 255 and np.count_nonzero(luma % 4) > luma.size // 2  # not 8 bits shifted up


@pytest.mark.subprocess
def test_10_bit_input_with_h264_is_8_bit_by_default(tmp_path):
    clip = make_picture_clip(tmp_path / 'hdr.mkv', 'libx265', 'yuv420p10le', size=(64, 64))
    result = upscale_video(str(clip), str(tmp_path / 'out.mp4'), DepthCheck(1))
    assert result.encoder.pix_fmt == 'yuv420p' and picture(tmp_path / 'out.mp4')['pix_fmt'] == 'yuv420p'


# ---------------------------------------------------------------- codecs and containers
PAIRS = [(codec, container) for codec in CODECS for container in CODECS[codec].containers]
REFUSED = [(codec, c) for codec in CODECS for c in ('mp4', 'mkv', 'mov', 'webm') if c not in CODECS[codec].containers]


@pytest.fixture(scope='module')
def small(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp('small') / 'small.mp4', num_frames=5, audio='aac')


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize('codec, container', PAIRS)
def test_every_codec_and_container_of_the_table_round_trips(tmp_path, small, codec, container):
    output = tmp_path / f'small_out.{container}'
    result = upscale_video(str(small), str(output), Resize(2), encoder=EncoderSettings(codec=codec), segment_length=3)
    info = picture(output)
    assert info['frames'] == 5 and len(decode_all(output)) == 5 and info['size'] == (96, 64)
    assert len(info['audio']) == 1  # AAC copied, or Opus in WebM
    assert result.warnings == (() if container != 'webm' else result.warnings)
    assert leftovers(tmp_path) == [output.name]


@pytest.mark.parametrize('codec, container', REFUSED)
def test_a_container_that_cannot_hold_the_codec_is_refused_before_any_work(tmp_path, small, codec, container):
    output = tmp_path / 'out' / f'small_out.{container}'
    with pytest.raises(VideoInputError, match=f'cannot hold {codec} video; use'):
        upscale_video(str(small), str(output), Resize(2), encoder=EncoderSettings(codec=codec))
    assert not output.parent.exists()


def test_encoder_settings_check_the_quality_scale_of_each_codec():
    assert EncoderSettings().quality == 23 and EncoderSettings(codec='h265').quality == 28
    assert EncoderSettings(codec='av1', crf=50).quality == 50 and EncoderSettings(codec='prores').quality is None
    with pytest.raises(ValueError, match='ffv1 is lossless: --crf does not apply'):
        EncoderSettings(codec='ffv1', crf=10)
    with pytest.raises(ValueError, match='crf must be between 0 \\(lossless\\) and 51'):
        EncoderSettings(crf=52)
    with pytest.raises(ValueError, match='prores cannot write yuv420p'):
        EncoderSettings(codec='prores', pix_fmt='yuv420p')
    assert EncoderSettings(codec='prores').for_input(8).pix_fmt == 'yuv422p10le'
    assert EncoderSettings(codec='av1').for_input(10).pix_fmt == 'yuv420p10le'
    assert EncoderSettings(codec='h264').for_input(10).pix_fmt == 'yuv420p'


def test_the_output_file_follows_o_and_container(tmp_path):
    assert output_file('in/clip.mov', 'results', 'out', 'h264') == os.path.join('results', 'clip_out.mp4')
    assert output_file('in/clip.mov', 'results', 'out', 'h264', 'mkv') == os.path.join('results', 'clip_out.mkv')
    assert output_file('in/clip.mov', 'results', 'out', 'prores') == os.path.join('results', 'clip_out.mov')
    assert output_file('in/clip.mov', 'x/film.WebM', 'out', 'vp9') == 'x/film.WebM'
    (tmp_path / 'looks.mkv').mkdir()  # an existing folder stays a folder
    assert output_file('clip.mp4', str(tmp_path / 'looks.mkv'), 'o', 'h264') == str(
        tmp_path / 'looks.mkv' / 'clip_o.mp4'
    )
    with pytest.raises(ValueError, match='-o names a .mkv file but --container is mp4'):
        output_file('clip.mp4', 'film.mkv', 'o', 'h264', 'mp4')


# ---------------------------------------------------------------- timing
@pytest.mark.subprocess
@pytest.mark.parametrize('extension', ['mp4', 'mkv'])
def test_a_variable_frame_rate_keeps_its_timestamps(tmp_path, extension):
    clip = tmp_path / 'vfr.mp4'
    times = [0, 40, 50, 120, 130, 250, 260]  # milliseconds
    with av.open(str(clip), mode='w') as output:
        video = output.add_stream('libx264', rate=25, options={'bf': '0'})
        video.width, video.height, video.pix_fmt = 48, 32, 'yuv420p'
        video.time_base = video.codec_context.time_base = Fraction(1, 1000)
        for pts, image in zip(times, clip_frames((48, 32), len(times))):
            frame = av.VideoFrame.from_ndarray(image, format='bgr24')
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
    output = tmp_path / f'vfr_out.{extension}'
    upscale_video(str(clip), str(output), Resize(2), segment_length=3)
    assert video_times(output) == video_times(clip) == [Fraction(t, 1000) for t in times]


# ---------------------------------------------------------------- resuming a killed job
def resumable_job_main(clip: str, output: str, pids: str) -> None:
    """Body of the child interpreter: a resumable lossless job with two slow workers."""
    upscale_video(
        clip, output, SlowResize(pids), devices=['cpu', 'cpu'], segment_length=4, resume=True,
        encoder=EncoderSettings(codec='ffv1', pix_fmt='yuv444p'),
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='signals and /proc as on Linux')
def test_kill_9_half_way_then_the_same_job_again_gives_the_uninterrupted_frames(tmp_path):
    clip = make_clip(tmp_path / 'clip.mp4', num_frames=24, audio='aac')
    output, pids = tmp_path / 'out' / 'clip_out.mkv', tmp_path / 'pids'
    pids.mkdir()
    code = f'from test_video_fidelity import resumable_job_main as m; m({str(clip)!r}, {str(output)!r}, {str(pids)!r})'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(TESTS)]))
    child = subprocess.Popen([sys.executable, '-c', code], cwd=REPO_ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    try:
        while not list(output.parent.glob('.clip_out.mkv.resume-*.tmp/segment_*.mp4')):
            assert child.poll() is None and time.monotonic() < deadline, 'no segment was finished'
            time.sleep(0.05)
    finally:
        everything = [child.pid] + worker_pids(pids)
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    assert wait_until_gone(everything) == [] and not any(running(pid) for pid in everything)
    (work_folder,) = output.parent.glob('.clip_out.mkv.resume-*.tmp')
    kept = sorted(path.name for path in work_folder.glob('segment_*.mp4'))
    assert 1 <= len(kept) < 6 and not output.exists()

    encoder = EncoderSettings(codec='ffv1', pix_fmt='yuv444p')
    result = upscale_video(
        str(clip), str(output), SlowResize(str(pids)), segment_length=4, resume=True, encoder=encoder
    )
    assert result.reused_frames == 4 * len(kept) and result.warnings == ()
    assert leftovers(output.parent) == ['clip_out.mkv']  # a finished job leaves nothing behind
    straight = tmp_path / 'straight.mkv'
    upscale_video(str(clip), str(straight), Resize(1), segment_length=4, encoder=encoder)
    resumed, reference = decode_all(output), decode_all(straight)
    assert len(resumed) == len(reference) == 24
    for a, b in zip(resumed, reference):
        np.testing.assert_array_equal(a, b)  # lossless: PSNR infinite
    assert picture(output)['audio'] == ['aac']


@pytest.mark.subprocess
def test_a_failed_resumable_job_keeps_its_finished_segments_and_a_changed_job_starts_afresh(tmp_path, small):
    from test_video_io import RaiseAt

    output = tmp_path / 'small_out.mp4'
    with pytest.raises(Exception, match='stand-in ran out of memory'):
        upscale_video(str(small), str(output), RaiseAt(3), segment_length=2, resume=True)
    (work_folder,) = tmp_path.glob('.small_out.mp4.resume-*.tmp')
    assert sorted(p.name for p in work_folder.glob('segment_*')) == ['segment_00000.mp4']
    # as if the next run were another process (this one still runs): the failed job's owner is gone
    finished = subprocess.Popen(['true'])
    finished.wait()
    owner = json.loads((work_folder / 'owner').read_text())
    (work_folder / 'owner').write_text(json.dumps({**owner, 'pid': finished.pid}))
    # another upscaler is another job: its own folder, and the killed job's folder is removed as stale
    result = upscale_video(str(small), str(output), Resize(2), segment_length=2, resume=True)
    assert result.reused_frames == 0 and leftovers(tmp_path) == ['small_out.mp4']


# ---------------------------------------------------------------- the quick answer (issue 30)
@pytest.mark.subprocess
def test_the_video_command_given_an_image_answers_in_one_line_without_torch(tmp_path):
    from helpers import run_python

    image = tmp_path / 'photo.png'
    av.VideoFrame.from_ndarray(np.zeros((8, 8, 3), np.uint8), format='bgr24').to_image().save(image)
    result = run_python(f"""
        import contextlib, io, sys
        from realesrgan.cli.video import main
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            status = main(['-i', {str(image)!r}, '-o', {str(tmp_path / 'out')!r}])
        print(status, 'torch' in sys.modules, repr(err.getvalue()))
    """)
    assert result.returncode == 0, result.stderr
    status, torch_loaded, message = result.stdout.strip().split(' ', 2)
    assert (status, torch_loaded) == ('2', 'False')
    assert message.count('\\n') == 1 and 'is a single image, not a video' in message
    assert not (tmp_path / 'out').exists()
