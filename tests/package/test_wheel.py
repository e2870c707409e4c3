"""The built wheel, installed outside the checkout, works as a user installs it: commands, metadata, weights place.

The wheel is built with ``python -m build --no-isolation`` (a source distribution first, then the wheel from it, so
a file that ``setup.py`` needs but the source distribution lacks fails here) from a copy of the files git knows,
installed with ``pip install --no-deps --target``, and run with that folder on ``PYTHONPATH`` from an unrelated
working folder; the virtual environment provides the dependencies. Downloads are sent to a closed local port, so
the official weights come from the packaged ncnn files, converted into the documented place.
"""

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Dict, List

import cv2
import numpy as np
import pytest
from helpers import REPO_ROOT

from realesrgan.cli import image as image_cli
from realesrgan.metrics import psnr
from realesrgan.version import __version__
from realesrgan.zoo import WEIGHTS_ENV, get_model_spec

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

MODEL = 'realesr-animevideov3'


def checkout_files() -> List[str]:
    """The files git tracks or would track (untracked but not ignored), relative to the checkout."""
    if shutil.which('git') is None or not (REPO_ROOT / '.git').exists():
        pytest.skip('building the wheel from the source tree needs a git checkout')
    listed = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard', '-z'],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split('\0') if name and (REPO_ROOT / name).is_file()]


def run(command: List[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, f'{command} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}'
    return done


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@pytest.fixture(scope='module')
def built(tmp_path_factory) -> Dict[str, Path]:
    """The wheel, built from a clean copy of the source tree, and the folder it is installed into."""
    if importlib.util.find_spec('build') is None:
        pytest.skip('needs the build package (pip install build; it is in the test extra)')
    root = tmp_path_factory.mktemp('wheel')
    source = root / 'source'
    for name in checkout_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, source / name)
    run([sys.executable, '-m', 'build', '--no-isolation', '--outdir', str(root / 'dist'), str(source)])
    (wheel,) = (root / 'dist').glob('*.whl')
    target = root / 'target'
    run([sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-compile', '--target', str(target), str(wheel)])
    return {'wheel': wheel, 'target': target}


def user_env(target: Path, home: Path, **extra: str) -> Dict[str, str]:
    """The environment of a user whose home is ``home``, with the installed wheel on the path and no network."""
    env = {key: value for key, value in os.environ.items() if key not in (WEIGHTS_ENV, 'XDG_CACHE_HOME')}
    proxy = f'http://127.0.0.1:{closed_port()}'  # the weight download fails at once: no network in the test
    env.update(PYTHONPATH=str(target), HOME=str(home), https_proxy=proxy, HTTPS_PROXY=proxy, OMP_NUM_THREADS='1')
    env.pop('no_proxy', None)
    env.pop('NO_PROXY', None)
    env.update(extra)
    return env


def command(target: Path, name: str) -> List[str]:
    """The console script pip generated for ``name``, run with this interpreter."""
    script = target / 'bin' / name
    assert script.is_file(), f'pip did not install the {name} command'
    return [sys.executable, str(script)]


def files_under(folder: Path) -> List[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob('*') if path.is_file())


def test_wheel_holds_the_package_and_complete_metadata(built):
    with zipfile.ZipFile(built['wheel']) as wheel:
        names = wheel.namelist()
        info = f'realesrgan-{__version__}.dist-info'
        metadata = Parser().parsestr(wheel.read(f'{info}/METADATA').decode())
        entry_points = wheel.read(f'{info}/entry_points.txt').decode()
    assert {name.split('/')[0] for name in names} == {'realesrgan', info}  # no tests/, options/, weights/, ...
    packaged = {name for name in names if name.endswith('.py')}
    expected = {str(path.relative_to(REPO_ROOT)) for path in (REPO_ROOT / 'realesrgan').rglob('*.py')}
    assert packaged == expected
    assert 'realesrgan = realesrgan.cli.image:main' in entry_points
    assert 'realesrgan-video = realesrgan.cli.video:main' in entry_points
    assert 'realesrgan-web = realesrgan.web:main' in entry_points
    assert metadata['Version'] == __version__ and metadata['License'] == 'BSD-3-Clause'
    assert metadata['Requires-Python'] == '>=3.8'
    assert {'test', 'video', 'export', 'face', 'demo', 'web'} <= set(metadata.get_all('Provides-Extra'))
    required = {line.split(';')[0].strip() for line in metadata.get_all('Requires-Dist') if 'extra ==' not in line}
    listed = (REPO_ROOT / 'requirements.txt').read_text().split()
    assert required == set(listed)


def test_installed_command_upscales_from_an_unrelated_folder(built, tmp_path):
    """``realesrgan -i IMG -o OUT -n realesr-animevideov3``: weights converted into the user cache, output correct."""
    target, work, home = built['target'], tmp_path / 'work', tmp_path / 'home'
    work.mkdir()
    image = (np.random.default_rng(0).random((20, 28, 3)) * 255).astype(np.uint8)
    cv2.imwrite(str(work / 'in.png'), image)
    before = files_under(target)
    env = user_env(target, home, XDG_CACHE_HOME=str(tmp_path / 'cache'))

    where = run([sys.executable, '-c', 'import realesrgan; print(realesrgan.__file__)'], cwd=work, env=env)
    assert Path(where.stdout.strip()).parent == target / 'realesrgan'  # the installed copy, not the checkout
    done = run([*command(target, 'realesrgan'), '-i', 'in.png', '-o', 'out', '-n', MODEL], cwd=work, env=env)
    assert '1 of 1 image(s) upscaled' in done.stdout

    weights = tmp_path / 'cache' / 'realesrgan' / 'weights' / get_model_spec(MODEL).file_name
    assert weights.is_file(), done.stderr
    assert files_under(work) == ['in.png', os.path.join('out', 'in_out.png')]  # no weights/ in the working folder
    assert files_under(target) == before  # nothing written into the installed package
    assert not (home / '.cache').exists()  # XDG_CACHE_HOME took the place of ~/.cache

    # the same image through the checkout's command line, on the weights the installed one converted
    reference_args = ['-i', str(work / 'in.png'), '-o', str(tmp_path / 'ref'), '-n', MODEL]
    assert image_cli.main([*reference_args, '--model_dir', str(weights.parent)]) == 0
    installed = cv2.imread(str(work / 'out' / 'in_out.png'))
    reference = cv2.imread(str(tmp_path / 'ref' / 'in_out.png'))
    assert installed.shape == (80, 112, 3)
    assert psnr(reference, installed) > 60


def test_installed_video_command_shows_its_help_and_the_weights_place(built, tmp_path):
    target, home = built['target'], tmp_path / 'home'
    env = user_env(target, home, **{WEIGHTS_ENV: str(tmp_path / 'mine'), 'COLUMNS': '10000'})
    done = run([*command(target, 'realesrgan-video'), '--help'], cwd=tmp_path, env=env)
    assert done.stdout.startswith('usage: realesrgan-video')
    assert f'here: {tmp_path / "mine"} (${WEIGHTS_ENV})' in done.stdout
    assert files_under(tmp_path) == []  # --help writes nothing
