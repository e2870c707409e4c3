"""inference_realesrgan_video.py with the real upscaler: realesr-animevideov3 and its packaged official weights.

The output frames are compared with ``RealESRGANer.enhance`` run here on the decoded input frames.
"""

import argparse
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from helpers import load_root_script
from test_video_io import audio_packets, clip_frames, decode_all, make_clip, psnr, stream_info

from realesrgan.cli import video as cli
from realesrgan.inference.model_choice import choose_model
from realesrgan.inference.recipe import UpscalerRecipe
from realesrgan.inference.settings import UpscaleSettings
from realesrgan.utils import RealESRGANer
from realesrgan.video import upscale_video
from realesrgan.video.writer import pad_to_even
from realesrgan.zoo import get_model_spec, resolve_model_path

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = 'realesr-animevideov3'


def test_the_script_runs_the_package_command_line():
    assert load_root_script('inference_realesrgan_video.py').main is cli.main


@pytest.fixture(scope='module')
def weights_dir(tmp_path_factory) -> Path:
    """Official realesr-animevideov3 weights, converted from the packaged ncnn files (no network)."""
    folder = tmp_path_factory.mktemp('weights')
    resolve_model_path(MODEL, str(folder), download=False)
    return folder


@pytest.fixture(scope='module')
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp('clips') / 'clip.mp4', size=(48, 32), num_frames=6)


def enhanced(frames, weights_dir: Path, outscale: float):
    """Per-frame ``RealESRGANer.enhance`` with the command line's defaults (tile 0, pre_pad 0, precision auto)."""
    spec = get_model_spec(MODEL)
    upsampler = RealESRGANer(
        scale=spec.netscale,
        model_path=resolve_model_path(MODEL, str(weights_dir)),
        model=spec.build(),
        tile=0,
        tile_pad=10,
        pre_pad=0,
        device=torch.device('cpu'),
        precision='auto',
    )
    return [upsampler.enhance(frame, outscale=outscale)[0] for frame in frames]


def run_cli(*args: str) -> int:
    return cli.main([str(arg) for arg in args])


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.weights
def test_default_quality_matches_enhance_per_frame_and_keeps_audio(tmp_path, clip, weights_dir, capsys):
    assert run_cli('-i', clip, '-o', tmp_path, '--model_dir', weights_dir) == 0
    output = tmp_path / 'clip_out.mp4'
    assert f'Saved {output}: 6 frames at 24.000 fps, 1 audio stream(s) copied' in capsys.readouterr().out
    info, before = stream_info(output), stream_info(clip)
    assert info['size'] == (192, 128) and info['frames'] == 6 and info['rate'] == 24
    assert info['video_duration'] == pytest.approx(before['video_duration'], abs=1e-6)
    assert info['audio'] == ['aac'] and info['audio_duration'] == pytest.approx(before['audio_duration'])
    assert audio_packets(output) == audio_packets(clip)
    expected = enhanced(decode_all(clip), weights_dir, 4)
    assert min(psnr(a, b) for a, b in zip(expected, decode_all(output))) >= 35


@pytest.mark.subprocess
@pytest.mark.weights
def test_crf0_yuv444p_is_near_lossless_and_two_workers_match_one(tmp_path, clip, weights_dir):
    assert (
        run_cli(
            '-i',
            clip,
            '-o',
            tmp_path,
            '--model_dir',
            weights_dir,
            '--crf',
            0,
            '--pix_fmt',
            'yuv444p',
            '--suffix',
            'lossless',
        )
        == 0
    )
    output = tmp_path / 'clip_lossless.mp4'
    frames = decode_all(output)
    expected = enhanced(decode_all(clip), weights_dir, 4)
    assert min(psnr(a, b) for a, b in zip(expected, frames)) >= 50
    # the same job cut into 2 segments for 2 worker processes gives the same frames
    recipe = UpscalerRecipe(choose_model(MODEL, weights_dir=str(weights_dir)), UpscaleSettings())
    two = tmp_path / 'two.mp4'
    from realesrgan.video import EncoderSettings

    result = upscale_video(
        str(clip),
        str(two),
        recipe,
        devices=['cpu', 'cpu'],
        segment_length=3,
        encoder=EncoderSettings(crf=0, pix_fmt='yuv444p'),
    )
    assert result.num_workers == 2 and result.num_segments == 2
    for a, b in zip(frames, decode_all(two)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.subprocess
@pytest.mark.weights
def test_fractional_outscale_gives_odd_size_padded_to_even(tmp_path, weights_dir):
    clip = make_clip(tmp_path / 'odd.mp4', size=(46, 30), num_frames=3, audio=None)
    assert run_cli('-i', clip, '-o', tmp_path, '--model_dir', weights_dir, '-s', 3.5) == 0
    output = tmp_path / 'odd_out.mp4'
    info = stream_info(output)
    assert info['size'] == (162, 106) and info['audio'] == []  # 161x105 padded by one pixel each way
    expected = [pad_to_even(image) for image in enhanced(decode_all(clip), weights_dir, 3.5)]
    assert min(psnr(a, b) for a, b in zip(expected, decode_all(output))) >= 35


@pytest.mark.subprocess
@pytest.mark.weights
def test_folder_of_frames_at_the_given_fps(tmp_path, weights_dir, capsys):
    frames = tmp_path / 'shot'
    frames.mkdir()
    for k, image in enumerate(clip_frames((16, 12), 3)):
        cv2.imwrite(str(frames / f'frame{k}.png'), image)
    assert run_cli('-i', frames, '-o', tmp_path / 'out', '--model_dir', weights_dir, '--fps', '24000/1001') == 0
    assert 'Saved' in capsys.readouterr().out
    info = stream_info(tmp_path / 'out' / 'shot_out.mp4')
    assert info['size'] == (64, 48) and info['frames'] == 3 and info['audio'] == []
    assert info['rate'] == Fraction(24000, 1001)


def test_fps_values():
    assert cli.parse_fps('24000/1001') == Fraction(24000, 1001)
    assert cli.parse_fps('23.976') == Fraction(2997, 125)
    for bad in ('fast', '0', '-24'):
        with pytest.raises(argparse.ArgumentTypeError):
            cli.parse_fps(bad)


@pytest.mark.parametrize(
    'args, message',
    [
        (['-n', 'no-such-model'], "Unknown model name 'no-such-model'. Valid names: RealESRGAN_x4plus"),
        (['-s', '-2'], '--outscale must be positive'),
        (['-t', '-1'], '--tile must be a non-negative integer, got -1'),
        (['--crf', '60'], 'crf must be between 0 (lossless) and 51'),
        (['--num_process_per_gpu', '0'], 'num_process_per_gpu must be at least 1'),
        (['--device', 'tpu'], "Unknown device 'tpu'"),
        (['-n', 'RealESRGAN_x4plus', '--face_enhance'], '--face_enhance needs GFPGAN, which is not installed'),
    ],
)
@pytest.mark.weights
def test_bad_arguments_exit_with_a_message(tmp_path, clip, weights_dir, capsys, args, message):
    assert run_cli('-i', clip, '-o', tmp_path, '--model_dir', weights_dir, *args) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.weights
def test_not_a_video_exits_with_a_message(tmp_path, weights_dir, capsys):
    text = tmp_path / 'notes.mp4'
    text.write_text('not a video\n' * 10)
    assert run_cli('-i', text, '-o', tmp_path / 'out', '--model_dir', weights_dir) == 2
    assert 'is not a video file that FFmpeg can read' in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.weights
def test_script_runs_end_to_end_in_a_fresh_interpreter(tmp_path, clip, weights_dir):
    """The real entry point, with neither an ffmpeg program nor a usable ``ffmpeg`` Python module around.

    Worker processes must start from the script (its ``__main__`` guard) and finish; the ``ffmpeg`` pip package
    that shadows ffmpeg-python for users of the original is simulated by a module that fails on import.
    """
    shadow = tmp_path / 'shadow'
    (shadow / 'ffmpeg').mkdir(parents=True)
    (shadow / 'ffmpeg' / '__init__.py').write_text("raise ImportError('the wrong ffmpeg package')\n")
    output = tmp_path / 'out'
    env = dict(os.environ, PYTHONPATH=str(shadow), PATH='/nonexistent')
    result = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / 'inference_realesrgan_video.py'),
            '-i',
            str(clip),
            '-o',
            str(output),
            '--model_dir',
            str(weights_dir),
            '--num_process_per_gpu',
            '2',
            '-s',
            '2',
            '--suffix',
            'x2',
            '--face_enhance',
            '--ffmpeg_bin',
            '/no/such/ffmpeg',
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert 'Saved' in result.stdout and '(1 worker(s) on cpu)' in result.stdout  # 6 frames: one segment
    assert '--face_enhance is not supported for anime models; turned it off' in result.stdout
    assert '--ffmpeg_bin is not needed and not used' in result.stdout
    info = stream_info(output / 'clip_x2.mp4')
    assert info['size'] == (96, 64) and info['frames'] == 6 and info['audio'] == ['aac']
    assert sorted(p.name for p in output.iterdir()) == ['clip_x2.mp4']
