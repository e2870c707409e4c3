"""The web page in a real browser: headless Chromium (Debian's package) driven by Playwright, one server for the module.

The server runs with ``--precision fp32`` and ``--max_pixels 20000`` (the 128x128 astronaut passes, a 200x200 image
does not). The main path uploads ``inputs/astronaut.png``, runs RealESRGAN_x4plus with tiles and checks that the
downloaded result has the pixels of the image CLI with the same settings.
"""

import os
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import INPUTS, WEIGHTS_DIR, official_weights

from realesrgan.cli import image as image_cli
from realesrgan.web.page import face_enhance_available

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

MAX_PIXELS = 20000
JOB_SECONDS = 180


@pytest.fixture(scope='module')
def server(start_server):
    official_weights('RealESRGAN_x4plus')
    official_weights('realesr-animevideov3')
    return start_server('--precision', 'fp32', '--max_pixels', str(MAX_PIXELS))


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={'width': 1280, 'height': 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.goto(server.url)
    tab.wait_for_selector('#image-run')
    yield tab
    context.close()


def upload(page, elem_id: str, path: Path) -> None:
    page.set_input_files(f'#{elem_id} input[type=file]', str(path))
    page.locator(f'#{elem_id} td.filename').first.wait_for()


def status_of(page, elem_id: str) -> str:
    return page.input_value(f'#{elem_id} textarea')


def wait_for_status(page, elem_id: str, text: str, seconds: float = JOB_SECONDS) -> str:
    page.wait_for_function(
        '([id, text]) => document.querySelector(`#${id} textarea`).value.includes(text)',
        arg=[elem_id, text],
        timeout=seconds * 1000,
    )
    return status_of(page, elem_id)


def download(page, link_selector: str, target: Path) -> Path:
    with page.expect_download() as event:
        page.locator(link_selector).first.click()
    event.value.save_as(str(target))
    return target


def write_image(path: Path, height: int, width: int, seed: int = 0) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), pixels)
    return path


def test_astronaut_gives_the_pixels_of_the_cli(page, server, tmp_path):
    upload(page, 'image-input', INPUTS / 'astronaut.png')
    page.fill('#image-tile input', '64')
    page.click('#image-run')
    status = wait_for_status(page, 'image-status', 'upscaled')
    assert '1 of 1 image(s) upscaled' in status and 'astronaut_out.png: 512x512 px' in status
    page.screenshot(path=str(tmp_path / 'page.png'), full_page=True)
    assert (tmp_path / 'page.png').stat().st_size > 0
    assert page.locator('#image-compare img').count() == 2  # the before / after slider holds both images
    result = download(page, '#image-results a[download]', tmp_path / 'downloaded.png')
    archive = download(page, '#image-zip a[download]', tmp_path / 'all.zip')

    cli_out = tmp_path / 'cli'
    flags = ['-i', str(INPUTS / 'astronaut.png'), '-o', str(cli_out), '-n', 'RealESRGAN_x4plus', '-t', '64']
    assert image_cli.main([*flags, '--fp32', '--weights_dir', str(WEIGHTS_DIR)]) == 0
    expected = cv2.imread(str(cli_out / 'astronaut_out.png'), cv2.IMREAD_UNCHANGED)
    got = cv2.imread(str(result), cv2.IMREAD_UNCHANGED)
    assert got.shape == expected.shape == (512, 512, 3)
    assert np.array_equal(got, expected)
    with zipfile.ZipFile(archive) as opened:
        assert opened.namelist() == ['astronaut_out.png']
        assert opened.read('astronaut_out.png') == result.read_bytes()


def test_the_buttons_are_in_sight_and_the_boxes_say_what_they_take(browser, server, tmp_path):
    context = browser.new_context(viewport={'width': 1400, 'height': 1000})
    tab = context.new_page()
    tab.goto(server.url)
    for kind in ('image', 'video'):
        if kind == 'video':
            tab.get_by_role('tab', name='Video').click()
        button = tab.locator(f'#{kind}-run')
        button.wait_for()
        box = button.bounding_box()
        assert box['y'] + box['height'] <= 1000, box  # no scrolling to find it
        tab.screenshot(path=str(tmp_path / f'{kind}.png'))
    assert 'Drop File Here' in tab.locator('#video-input').inner_text()  # one file
    tab.get_by_role('tab', name='Images').click()
    tab.wait_for_function("() => document.querySelector('#image-input').innerText.includes('Drop Files Here')")
    context.close()


def choose(page, elem_id: str, value: str) -> None:
    page.click(f'#{elem_id} input')
    page.get_by_role('option', name=value, exact=True).click()


def test_denoise_strength_and_face_enhance_are_offered_where_they_apply(page):
    assert not page.locator('#image-denoise').is_visible()
    choose(page, 'image-model', 'realesr-general-x4v3')
    page.locator('#image-denoise').wait_for(state='visible')
    choose(page, 'image-model', 'RealESRGAN_x4plus_anime_6B')
    page.locator('#image-denoise').wait_for(state='hidden')
    assert page.locator('#image-face').is_visible() == face_enhance_available()


def test_a_file_that_is_no_image_gets_the_cli_reason(page, tmp_path):
    notes = tmp_path / 'notes.txt'
    notes.write_text('not an image')
    upload(page, 'image-input', notes)
    page.click('#image-run')
    status = wait_for_status(page, 'image-status', 'not an image file')
    assert 'notes.txt: not an image file (extension ".txt"' in status
    assert 'Traceback' not in status and str(tmp_path) not in status
    assert page.locator('#image-results a[download]').count() == 0


def test_an_image_over_the_pixel_limit_gets_the_reason(page, tmp_path):
    upload(page, 'image-input', write_image(tmp_path / 'big.png', 200, 200))
    page.click('#image-run')
    status = wait_for_status(page, 'image-status', 'FAILED')
    assert f'big.png: 200x200 is 40,000 pixels, more than the limit of {MAX_PIXELS:,}' in status
    assert '--max_pixels' in status and 'Traceback' not in status


def test_a_video_with_sound_comes_back_as_an_mp4_with_sound(page, tmp_path):
    av = pytest.importorskip('av')
    from realesrgan.video.sample_clip import panning_frames, write_clip

    photo = cv2.imread(str(INPUTS / 'astronaut.png'))
    clip = write_clip(str(tmp_path / 'clip.mp4'), list(panning_frames(photo, (32, 24), 4)), fps=8)
    page.get_by_role('tab', name='Video').click()
    upload(page, 'video-input', Path(clip))
    page.click('#video-run')
    status = wait_for_status(page, 'video-status', 'Saved')
    assert '4 frames' in status and '1 audio stream(s) copied' in status
    result = download(page, '#video-result a[download]', tmp_path / 'clip_out.mp4')
    with av.open(str(result)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (128, 96)
        assert len(container.streams.audio) == 1
        assert sum(1 for _ in container.decode(video=0)) == 4


def test_cancel_stops_the_job_and_leaves_no_files(page, server, tmp_path):
    before = server.jobs()
    upload(page, 'image-input', write_image(tmp_path / 'slow.png', 140, 140))
    page.fill('#image-tile input', '16')  # about a hundred tiles of RealESRGAN_x4plus: long enough to cancel
    page.click('#image-run')
    page.wait_for_function(
        "() => [...document.querySelectorAll('.progress-text, .meta-text, .progress-level-inner')]"
        ".some(node => node.textContent.includes('tile'))",
        timeout=JOB_SECONDS * 1000,
    )
    page.click('#image-cancel')
    status = wait_for_status(page, 'image-status', 'Cancelled', seconds=60)
    assert 'the job stopped' in status
    assert server.jobs() == before  # the cancelled job's folder is gone
    assert not any(os.path.exists(server.root / 'jobs' / job / 'out' / 'slow_out.png') for job in server.jobs())
    # the page is usable again: the same image runs to the end, untiled
    page.fill('#image-tile input', '0')
    page.click('#image-run')
    status = wait_for_status(page, 'image-status', 'upscaled')
    assert '1 of 1 image(s) upscaled' in status and 'slow_out.png: 560x560 px' in status
