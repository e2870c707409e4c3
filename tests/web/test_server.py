"""The server without a browser: its API through gradio_client, what it refuses to serve, its upload limit, its stop.

One server for the module (``--max_file_size 100kb``); the last test stops it and checks that its temporary folder is
gone.
"""

import urllib.error
import urllib.parse
import urllib.request

import cv2
import numpy as np
import pytest
from helpers import INPUTS, REPO_ROOT, WEIGHTS_DIR, official_weights

from realesrgan.cli import image as image_cli

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

MODEL = 'realesr-animevideov3'


@pytest.fixture(scope='module')
def server(start_server):
    official_weights(MODEL)
    return start_server('--max_file_size', '100kb', '--precision', 'fp32')


@pytest.fixture(scope='module')
def client(server, tmp_path_factory):
    gradio_client = pytest.importorskip('gradio_client')
    return gradio_client.Client(server.url, verbose=False, download_files=str(tmp_path_factory.mktemp('client')))


DEFAULTS = {
    'model_name': MODEL,
    'model_file': None,
    'outscale': 0,
    'denoise_strength': 0.5,
    'tile': 0,
    'face_enhance': False,
    'precision': 'fp32',
    'ext': 'auto',
    'quality': 0,
    'keep_metadata': True,
}


def upscale(client, path, **choices):
    from gradio_client import handle_file

    return client.predict(files=[handle_file(str(path))], **{**DEFAULTS, **choices}, api_name='/upscale_images')


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_api_gives_the_pixels_of_the_cli(client, tmp_path):
    status, pair, _, results, archive = upscale(client, INPUTS / 'astronaut.png', outscale=2, ext='png')
    assert '1 of 1 image(s) upscaled' in status and 'astronaut_out.png: 256x256 px' in status
    assert len(pair) == 2 and archive.endswith('.zip')
    flags = ['-i', str(INPUTS / 'astronaut.png'), '-o', str(tmp_path), '-n', MODEL, '-s', '2', '--ext', 'png']
    assert image_cli.main([*flags, '--fp32', '--weights_dir', str(WEIGHTS_DIR)]) == 0
    expected = cv2.imread(str(tmp_path / 'astronaut_out.png'), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(cv2.imread(results[0], cv2.IMREAD_UNCHANGED), expected)


def test_a_checkpoint_that_is_no_network_gets_one_line(client, tmp_path):
    from gradio_client import handle_file

    bogus = tmp_path / 'bogus.pth'
    bogus.write_bytes(b'not a checkpoint')
    status = upscale(client, INPUTS / 'astronaut.png', model_file=handle_file(str(bogus)))[0]
    assert status.startswith('error: ') and 'bogus.pth' in status
    assert '\n' not in status and 'Traceback' not in status


def test_nothing_outside_the_served_files_can_be_downloaded(server, client):
    upscale(client, INPUTS / 'astronaut.png')
    job_input = next((server.root / 'jobs').glob('*/in/astronaut.png'))
    outside = [
        '/etc/passwd',
        str(REPO_ROOT / 'setup.py'),
        f'{server.root}/gradio/../../../etc/passwd',
        f'{server.root}/gradio/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
        str(job_input),  # inside the workspace, but not a file the page handed out
        '../../../../etc/passwd',
    ]

    def file_url(path: str) -> str:
        return f'{server.url}gradio_api/file={urllib.parse.quote(path, safe="/%")}'

    handed_out = next((server.root / 'gradio').glob('*/astronaut_out.png'))
    assert status_of(file_url(str(handed_out))) == 200  # what the page handed out is served
    for path in outside:
        assert status_of(file_url(path)) in (403, 404), path


def test_an_upload_over_the_size_limit_is_refused(server, tmp_path):
    big = tmp_path / 'big.png'
    big.write_bytes(b'\0' * 200_000)
    boundary = 'realesrgan-test-boundary'
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\n'
            'Content-Type: image/png\r\n\r\n'
        ).encode()
        + big.read_bytes()
        + f'\r\n--{boundary}--\r\n'.encode()
    )
    request = urllib.request.Request(
        f'{server.url}gradio_api/upload',
        data=body,
        headers={'Content-Type': f'multipart/form-data; boundary={boundary}'},
    )
    assert status_of(request) == 413


def test_a_second_tab_waits_while_the_first_runs(server, client, tmp_path):
    from gradio_client import Client
    from gradio_client.utils import Status

    official_weights('RealESRGAN_x4plus')
    slow = tmp_path / 'slow.png'
    assert cv2.imwrite(str(slow), np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    other_tab = Client(server.url, verbose=False, download_files=str(tmp_path))
    running = {Status.PROCESSING, Status.PROGRESS, Status.ITERATING}

    def submit(tab, path, **choices):
        from gradio_client import handle_file

        values = {**DEFAULTS, **choices}
        return tab.submit(files=[handle_file(str(path))], **values, api_name='/upscale_images')

    first = submit(client, slow, model_name='RealESRGAN_x4plus', tile=16)
    while first.status().code not in running:
        assert not first.done()
    second = submit(other_tab, INPUTS / 'astronaut.png')
    waited = False  # seen in the queue while the first was running
    while not first.done() and not waited:
        waited = second.status().code == Status.IN_QUEUE and first.status().code in running
    assert waited
    assert '1 of 1 image(s) upscaled' in first.result()[0] and '1 of 1 image(s) upscaled' in second.result()[0]


def test_sigterm_stops_the_server_and_removes_its_folder(server):
    assert server.root.is_dir()
    assert server.stop() == 0
    assert not server.root.exists()
