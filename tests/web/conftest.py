"""The web page's tests: servers started as ``python app.py`` subprocesses, driven by Chromium or gradio_client.

``start_server`` starts servers for a test module (:class:`WebServer`); ``browser`` gives a headless Chromium through
Playwright. Playwright's own browser download cannot work without network, so the tests use Debian's ``chromium``
package (``.ci/run`` installs it where apt works); where neither it nor the Python packages can be had, the browser
tests are skipped with the reason.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import pytest
from helpers import REPO_ROOT, WEIGHTS_DIR

CHROMIUM = os.environ.get('REALESRGAN_CHROMIUM') or shutil.which('chromium') or '/usr/bin/chromium'
START_SECONDS = 120
ROOT_LINE = re.compile(r'Uploads and results live in (\S+) \(removed')


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class WebServer:
    """``python app.py`` on a free port of 127.0.0.1, with the test weights folder and the CPU.

    Args:
        flags: More flags of the server.
        log_path: Where its output goes.
    """

    def __init__(self, flags: List[str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}/'
        self.log_path = log_path
        command = [sys.executable, 'app.py', '--port', str(self.port), '--weights_dir', str(WEIGHTS_DIR)]
        with open(log_path, 'wb') as log:
            self.process = subprocess.Popen(
                [*command, '--device', 'cpu', *flags], cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        self.root = self._wait_until_ready()

    def log(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors='replace')

    def _wait_until_ready(self) -> Path:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f'the server exited with {self.process.returncode}:\n{self.log()}')
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    if response.status == 200:
                        return Path(ROOT_LINE.search(self.log()).group(1))
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        self.stop()
        pytest.fail(f'the server did not answer within {START_SECONDS} s:\n{self.log()}')

    def jobs(self) -> List[str]:
        """The job folders the server holds now."""
        return sorted(os.listdir(self.root / 'jobs'))

    def stop(self) -> Optional[int]:
        """Stop it as a service manager would (SIGTERM); returns its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture(autouse=True)
def _one_torch_thread(one_torch_thread: None) -> None:
    """Applies ``one_torch_thread`` of tests/conftest.py to each test of this folder (the servers keep their own)."""


@pytest.fixture(scope='module')
def start_server(tmp_path_factory) -> Iterator[Callable[..., WebServer]]:
    """Starts servers with the given flags; each is stopped at the end of the module."""
    pytest.importorskip('gradio', reason='the web page needs Gradio: pip install -e ".[web]"')
    servers: List[WebServer] = []

    def start(*flags: str) -> WebServer:
        log_path = tmp_path_factory.mktemp('server') / 'server.log'
        servers.append(WebServer(list(flags), log_path))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope='module')
def browser() -> Iterator[object]:
    """A headless Chromium (Debian's package) driven by Playwright."""
    sync_api = pytest.importorskip(
        'playwright.sync_api', reason='the browser tests need Playwright: pip install -e ".[test]"'
    )
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(
            f"no browser: Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium; .ci/run "
            'installs it where apt works)'
        )
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox'])
        yield chromium
        chromium.close()
