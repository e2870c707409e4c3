"""benchmarks/video_fps.py: the two-line CPU patch of the original's script, the ffprobe stand-in, and a tiny run."""

import json
import subprocess
import sys

import pytest
import video_fps
from benchlib import ffprobe_standin
from helpers import REPO_ROOT


def test_the_patch_changes_exactly_the_two_cuda_lines(tmp_path):
    # the shape of the lines in the released script; the rest of this stand-in is ours
    script = tmp_path / 'video.py'
    script.write_text(
        'import torch\n\n'
        'def frames(device):\n'
        '    for frame in range(3):\n'
        '        torch.cuda.synchronize(device)\n\n'
        'def run(args):\n'
        '    num_gpus = torch.cuda.device_count()\n'
        '    return num_gpus\n'
    )
    copy = tmp_path / 'copy.py'
    changes = video_fps.patch_for_cpu(str(script), copy)
    assert changes == [
        'line 8: num_gpus = torch.cuda.device_count() -> num_gpus = max(1, torch.cuda.device_count())',
        'line 5: torch.cuda.synchronize(device) -> '
        'torch.cuda.synchronize(device) if torch.cuda.is_available() else None',
    ]
    before, after = script.read_text().splitlines(), copy.read_text().splitlines()
    assert len(before) == len(after)
    assert [number for number, (a, b) in enumerate(zip(before, after)) if a != b] == [4, 7]
    assert after[7] == '    num_gpus = max(1, torch.cuda.device_count())' + video_fps.PATCH_NOTE
    namespace = {}
    exec(copy.read_text(), namespace)  # the patched copy runs on this CPU
    namespace['frames']('cpu')
    assert namespace['run'](None) >= 1


def test_a_script_without_those_lines_is_refused(tmp_path):
    script = tmp_path / 'other.py'
    script.write_text('print("not the original")\n')
    with pytest.raises(SystemExit, match='give the original inference_realesrgan_video.py'):
        video_fps.patch_for_cpu(str(script), tmp_path / 'copy.py')


def test_ffprobe_standin_answers_what_the_original_reads(tmp_path):
    import cv2

    from realesrgan.video.sample_clip import panning_frames, write_clip

    photo = cv2.imread(str(REPO_ROOT / 'inputs' / 'chelsea.jpg'))
    clip = write_clip(str(tmp_path / 'clip.mp4'), list(panning_frames(photo, (48, 32), 12)), fps=24)
    command = [sys.executable, str(REPO_ROOT / 'benchmarks' / 'benchlib' / 'ffprobe_standin.py')]
    answer = subprocess.run(
        command + ['-show_format', '-show_streams', '-of', 'json', clip], capture_output=True, text=True
    )
    probe = json.loads(answer.stdout)
    video = [stream for stream in probe['streams'] if stream['codec_type'] == 'video'][0]
    assert (video['width'], video['height'], video['avg_frame_rate'], video['nb_frames']) == (48, 32, '24/1', '12')
    assert eval(video['avg_frame_rate']) == 24  # as the original reads it
    assert any(stream['codec_type'] == 'audio' for stream in probe['streams'])
    assert ffprobe_standin.main(['-version']) == 2


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.weights
def test_a_tiny_run_of_ours(tmp_path, capsys):
    out = tmp_path / 'video.json'
    status = video_fps.main(['--skip-original', '--seconds', '0.25', '--size', '32x24', '--json', str(out)])
    assert status == 0
    result = json.loads(out.read_text())
    assert result['clip']['frames'] == 6 and 'original' not in result['runs']
    (ours,) = [run for key, run in result['runs'].items() if key.startswith('ours (auto')]
    assert ours['frames'] == 6 and ours['error'] is None and ours['fps'] > 0 and ours['audio'].startswith('aac')
    printed = capsys.readouterr().out
    assert printed.startswith('CPU: ') and 'oneDNN' in printed
