"""The video frame path: frames batched through the network, and decoding, upscaling and encoding overlapped.

The batched path must give exactly the pixels of ``RealESRGANer.enhance`` frame by frame; the pipeline must give the
same file as one frame at a time, and stop (not hang) when any stage fails. Everything runs in this process, on a
small random SRVGGNetCompact (no weights needed) or a plain resize.
"""

import dataclasses
import threading
import time
from fractions import Fraction

import cv2
import numpy as np
import pytest
import torch
from test_video_io import clip_frames, make_clip

from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.inference import upsampler as upscaler_module
from realesrgan.inference.recipe import ImageUpscaler
from realesrgan.utils import RealESRGANer
from realesrgan.video import EncoderSettings, VideoInputError
from realesrgan.video.reader import probe_source
from realesrgan.video.segments import plan_segments
from realesrgan.video.timeline import plan_timeline
from realesrgan.video.worker import WorkerPlan, batch_upscaler, encode_segment


def small_upscaler(outscale: float = 4, tile: int = 0) -> ImageUpscaler:
    torch.manual_seed(0)
    network = SRVGGNetCompact(num_feat=8, num_conv=2, upscale=4, act_type='prelu')
    upsampler = RealESRGANer(scale=4, model_path=None, model=network, tile=tile, pre_pad=0, device='cpu')
    return ImageUpscaler(upsampler, outscale, 'realesrgan', max_pixels=0)


@pytest.mark.parametrize('outscale', [4, 2.5])
def test_batched_frames_give_the_pixels_of_enhance_frame_by_frame(outscale):
    frames = clip_frames((40, 24), 5)
    upscale = small_upscaler(outscale)
    assert upscale.frames_per_pass(24, 40) == upscaler_module.MAX_FRAMES_PER_PASS  # small frames share a pass
    expected = [upscale.upsampler.enhance(frame, outscale=outscale)[0] for frame in frames]
    outputs = upscale.upscale_frames(frames)
    assert len(outputs) == len(frames)
    for want, got in zip(expected, outputs):
        assert got.dtype == np.uint8 and got.shape == (int(24 * outscale), int(40 * outscale), 3)
        np.testing.assert_array_equal(got, want)


def test_frames_per_pass_follows_the_device_budget_and_never_batches_tiles():
    upscale = small_upscaler()
    cpu_budget = upscaler_module.FRAME_PASS_PIXELS['cpu']
    assert upscale.frames_per_pass(180, 320) == max(1, cpu_budget // (180 * 320))
    assert upscale.frames_per_pass(1080, 1920) == 1
    assert small_upscaler(tile=16).frames_per_pass(24, 40) == 1


def test_a_pass_out_of_memory_is_redone_frame_by_frame(monkeypatch):
    frames = clip_frames((40, 24), 3)
    upscale = small_upscaler()
    expected = [upscale(frame) for frame in frames]

    def out_of_memory(self, batch, outscale):
        raise RuntimeError('CPU out of memory (a stand-in)')

    monkeypatch.setattr(RealESRGANer, '_enhance_batch', out_of_memory)
    for want, got in zip(expected, upscale.upscale_frames(frames)):
        np.testing.assert_array_equal(got, want)

    def broken(self, batch, outscale):
        raise RuntimeError('some other failure')

    monkeypatch.setattr(RealESRGANer, '_enhance_batch', broken)
    with pytest.raises(RuntimeError, match='some other failure'):
        upscale.upscale_frames(frames)


class RecordingResize:
    """A batch upscaler: resize x2, recording the size of every pass (and failing at pass ``fail_at``)."""

    def __init__(self, per_pass: int, fail_at: int = -1, delay: float = 0.0) -> None:
        self.per_pass, self.fail_at, self.delay = per_pass, fail_at, delay
        self.passes = []

    def __call__(self, image):
        return cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)

    def frames_per_pass(self, height, width):
        return self.per_pass

    def upscale_frames(self, frames):
        if len(self.passes) == self.fail_at:
            raise ValueError('the network failed (a stand-in)')
        self.passes.append(len(frames))
        time.sleep(self.delay)
        return [self(frame) for frame in frames]


def one_segment_plan(tmp_path, clip, name, fps=None):
    source = probe_source(str(clip), fps)
    timeline = plan_timeline(source, fps)
    segments = plan_segments(timeline.num_frames, timeline.num_frames)
    folder = tmp_path / name
    folder.mkdir()
    return WorkerPlan(source, timeline, segments, EncoderSettings(), str(folder))


def test_pipeline_batches_frames_and_writes_the_same_file_as_frame_by_frame(tmp_path):
    clip = make_clip(tmp_path / 'clip.mp4', num_frames=8, audio=None)
    written = {}
    for name, upscale in (('single', RecordingResize(1).__call__), ('batched', RecordingResize(3))):
        plan = one_segment_plan(tmp_path, clip, name)
        frames = []
        encode_segment(plan, plan.segments[0], upscale, lambda frames=frames: frames.append(1))
        assert len(frames) == 8  # on_frame once per encoded frame
        written[name] = open(plan.segment_path(plan.segments[0]), 'rb').read()
        if name == 'batched':
            assert upscale.passes == [3, 3, 2]
    assert written['single'] == written['batched']


def test_pipeline_upscales_a_frame_shown_twice_once(tmp_path):
    clip = make_clip(tmp_path / 'clip.mp4', num_frames=6, audio=None)
    plan = one_segment_plan(tmp_path, clip, 'doubled', fps=Fraction(48))  # every input frame shown twice
    upscale = RecordingResize(4)
    encoded = []
    encode_segment(plan, plan.segments[0], upscale, lambda: encoded.append(1))
    assert len(encoded) == 12 and sum(upscale.passes) == 6


@pytest.mark.parametrize('fail_at', [0, 2])
def test_a_failing_pass_stops_the_pipeline_with_its_error(tmp_path, fail_at):
    clip = make_clip(tmp_path / 'clip.mp4', num_frames=10, audio=None)
    plan = one_segment_plan(tmp_path, clip, 'failing')
    before = threading.active_count()
    with pytest.raises(ValueError, match='the network failed'):
        encode_segment(plan, plan.segments[0], RecordingResize(2, fail_at=fail_at), lambda: None)
    assert threading.active_count() == before  # the decoder and encoder threads ended


def test_a_failing_encoder_stops_the_pipeline_with_its_error(tmp_path):
    clip = make_clip(tmp_path / 'clip.mp4', num_frames=10, audio=None)
    plan = one_segment_plan(tmp_path, clip, 'encoder')
    calls = []

    def on_frame():
        calls.append(1)
        if len(calls) == 3:
            raise OSError('disk full (a stand-in)')

    before = threading.active_count()
    with pytest.raises(OSError, match='disk full'):
        encode_segment(plan, plan.segments[0], RecordingResize(2, delay=0.01), on_frame)
    assert threading.active_count() == before


def test_a_decoding_error_reaches_the_caller(tmp_path):
    clip = make_clip(tmp_path / 'clip.mp4', num_frames=6, audio=None)
    plan = one_segment_plan(tmp_path, clip, 'short')
    short = make_clip(tmp_path / 'short.mp4', num_frames=4, audio=None)
    plan = dataclasses.replace(plan, source=dataclasses.replace(plan.source, path=str(short)))
    with pytest.raises(VideoInputError, match='decoding stopped at frame 4 of 6'):
        encode_segment(plan, plan.segments[0], RecordingResize(2), lambda: None)


def test_one_frame_upscalers_get_one_frame_a_call():
    upscale, per_pass = batch_upscaler(lambda image: image[::2], 10, 10)
    image = np.zeros((4, 4, 3), np.uint8)
    assert per_pass == 1 and [out.shape for out in upscale([image, image])] == [(2, 4, 3), (2, 4, 3)]
