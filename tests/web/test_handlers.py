"""The page's parts without a server: the handlers run the CLIs' jobs, Cancel stops them and leaves no files, the
temporary folder keeps to itself, and Gradio is imported by nothing but the server."""

import multiprocessing
import os

import cv2
import numpy as np
import pytest
import torch
from helpers import run_python

from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.web.cancel_board import CancelBoard, CancelToken, JobCancelled
from realesrgan.web.image_handler import ImageChoices, upscale_images
from realesrgan.web.page import has_denoise_strength
from realesrgan.web.workspace import Workspace
from realesrgan.zoo import MODEL_ZOO, save_checkpoint

SERVER = {'device': 'cpu', 'precision': 'fp32', 'tile_blend': 22, 'tile_batch': 1, 'max_pixels': 0}


@pytest.fixture
def workspace(tmp_path):
    space = Workspace(str(tmp_path))
    yield space
    space.remove()


@pytest.fixture
def checkpoint(workspace):
    """A small SRVGGNetCompact checkpoint, uploaded."""
    torch.manual_seed(0)
    path = os.path.join(workspace.gradio_cache, 'mine.pth')
    save_checkpoint(SRVGGNetCompact(num_feat=4, num_conv=1, upscale=4).eval().state_dict(), path, 'params')
    return path


def uploaded(workspace, name: str, image: np.ndarray) -> str:
    """A file as Gradio keeps an upload: in its cache folder inside the workspace."""
    path = os.path.join(workspace.gradio_cache, name)
    assert cv2.imwrite(path, image)
    return path


def noise(height: int, width: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_an_uploaded_checkpoint_is_detected_and_every_output_is_zipped(workspace, checkpoint, tmp_path):
    uploads = [uploaded(workspace, 'a.png', noise(12, 10)), uploaded(workspace, 'b.png', noise(8, 8))]
    reports = []
    choices = ImageChoices(model_file=checkpoint, tile=4, ext='webp', quality=100, keep_metadata=False)
    result = upscale_images(
        uploads,
        choices,
        {**SERVER, 'weights_dir': str(tmp_path)},
        workspace,
        CancelToken(),
        lambda fraction, text: reports.append((fraction, text)),
    )
    assert [(one.width, one.height) for one in result.outputs] == [(40, 48), (32, 32)]
    assert [os.path.basename(one.path) for one in result.outputs] == ['a_out.webp', 'b_out.webp']
    assert '2 of 2 image(s) upscaled' in result.message and result.zip_path.endswith('.zip')
    assert reports[-1] == (1.0, 'image 2 of 2') and any('tile' in text for _, text in reports)


def test_cancel_stops_the_image_job_and_removes_its_folder(workspace, checkpoint):
    token = CancelToken()

    def report(fraction: float, text: str) -> None:
        if 'tile 1 of' in text:
            token.cancel()

    upload = uploaded(workspace, 'a.png', noise(32, 32))
    with pytest.raises(JobCancelled):
        upscale_images([upload], ImageChoices(model_file=checkpoint, tile=4), SERVER, workspace, token, report)
    assert os.listdir(workspace.jobs) == []


@pytest.mark.subprocess
@pytest.mark.slow
def test_cancel_stops_the_video_workers_and_removes_the_job_folder(workspace, checkpoint, tmp_path):
    pytest.importorskip('av')
    from realesrgan.video.sample_clip import write_clip
    from realesrgan.web.video_handler import VideoChoices, upscale_video_file

    clip = write_clip(os.path.join(workspace.gradio_cache, 'clip.mp4'), [noise(24, 32)] * 12, fps=12)
    token = CancelToken()

    def report(fraction: float, text: str) -> None:
        if not text.startswith('0 of'):
            token.cancel()

    with pytest.raises(JobCancelled):
        upscale_video_file(clip, VideoChoices(model_file=checkpoint), SERVER, workspace, token, report)
    assert os.listdir(workspace.jobs) == []
    assert multiprocessing.active_children() == []


def test_a_file_from_outside_the_workspace_is_refused(workspace, tmp_path):
    outside = tmp_path / 'elsewhere.png'
    assert cv2.imwrite(str(outside), noise(4, 4))
    sneaky = os.path.join(workspace.gradio_cache, '..', '..', 'elsewhere.png')
    for path in (str(outside), sneaky):
        assert not workspace.contains(path)
        result = upscale_images([path], ImageChoices(), SERVER, workspace, CancelToken(), lambda *_: None)
        assert result.message.startswith('error: ') and 'is not an upload of this page' in result.message
    assert os.listdir(workspace.jobs) == []


def test_an_upload_whose_name_starts_with_a_dot_is_upscaled(workspace, checkpoint):
    path = uploaded(workspace, '.photo.png', noise(6, 5))
    result = upscale_images([path], ImageChoices(model_file=checkpoint), SERVER, workspace, CancelToken(), print)
    assert [os.path.basename(one.path) for one in result.outputs] == ['photo_out.png'], result.message
    assert '1 of 1 image(s) upscaled' in result.message
    assert workspace.root not in result.message and '-i' not in result.message


def test_cancel_reaches_only_the_job_of_its_own_tab():
    board = CancelBoard()
    assert not board.cancel('tab-a')
    with board.running('tab-a') as mine, board.running('tab-b') as other:
        assert board.cancel('tab-a')
        assert mine.cancelled and not other.cancelled
        with pytest.raises(JobCancelled):
            mine.check(1, 4)
        other.check(1, 4)
    assert not board.cancel('tab-a')


def test_denoise_strength_is_offered_for_the_models_with_a_denoise_partner():
    assert [name for name in MODEL_ZOO if has_denoise_strength(name)] == ['realesr-general-x4v3']
    assert not has_denoise_strength(None)


@pytest.mark.subprocess
def test_gradio_is_imported_by_the_server_only():
    result = run_python(
        """
        import sys
        import realesrgan, realesrgan.web, realesrgan.web.page, realesrgan.cli.image
        print(sorted(name for name in sys.modules if name.split('.')[0] in ('gradio', 'gradio_client')))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '[]'


@pytest.mark.subprocess
def test_without_gradio_the_server_says_what_to_install_in_one_line(tmp_path):
    result = run_python(
        f"""
        import sys
        sys.modules['gradio'] = None  # as if it were not installed
        from realesrgan.web import main
        sys.exit(main(['--temp_dir', {str(tmp_path)!r}]))
        """
    )
    assert result.returncode == 2
    assert result.stderr.count('\n') == 1 and 'pip install -e ".[web]"' in result.stderr
    assert os.listdir(tmp_path) == []  # the temporary folder it made is gone


def test_the_page_builds_the_job_the_cli_builds_from_the_same_flags():
    from realesrgan.batch.job import ImageJob
    from realesrgan.cli import image as image_cli
    from realesrgan.cli import video as video_cli
    from realesrgan.video.job import VideoJob
    from realesrgan.web.image_handler import image_job
    from realesrgan.web.video_handler import VideoChoices, video_job

    server = {**SERVER, 'weights_dir': 'w', 'max_pixels': 5000}
    engine = {'model_name': 'realesr-general-x4v3', 'outscale': 2.5, 'denoise_strength': 0.3, 'tile': 32}
    choices = ImageChoices(**engine, precision='bf16', ext='webp', quality=90, keep_metadata=False)
    flags = ['-i', 'in', '-o', 'out', '-n', 'realesr-general-x4v3', '-s', '2.5', '-dn', '0.3', '-t', '32']
    flags += ['--precision', 'bf16', '--device', 'cpu', '--max_pixels', '5000', '--weights_dir', 'w']
    expected = ImageJob.from_args(
        image_cli.build_parser().parse_args([*flags, '--ext', 'webp', '--quality', '90', '--strip_metadata'])
    )
    assert image_job('in', 'out', choices, server) == expected
    pytest.importorskip('av')
    video = VideoChoices(**engine, precision='bf16', crf=18)
    assert video_job('in', 'out', video, server) == VideoJob.from_args(
        video_cli.build_parser().parse_args([*flags, '--crf', '18'])
    )


def test_metadata_is_kept_or_left_out_as_chosen(workspace, checkpoint):
    from PIL import Image

    path = os.path.join(workspace.gradio_cache, 'photo.jpg')
    exif = Image.Exif()
    exif[0x010F] = 'realesrgan test camera'  # Make
    Image.fromarray(noise(8, 8)).save(path, exif=exif.tobytes(), quality=95)
    makes = []
    for keep in (True, False):
        result = upscale_images(
            [path],
            ImageChoices(model_file=checkpoint, keep_metadata=keep),
            SERVER,
            workspace,
            CancelToken(),
            lambda *_: None,
        )
        with Image.open(result.outputs[0].path) as output:
            makes.append(output.getexif().get(0x010F))
    assert makes == ['realesrgan test camera', None]
