"""A virtual environment holding the original ``realesrgan==0.3.0`` package, created on demand and reused.

The project installs its own ``realesrgan`` (editable) in its environment, so the original package cannot live
there. This module makes a separate environment (by default ``benchmarks/.venv-original``), installs the original
package from the registry without its dependencies, and lets that environment see the project environment's
site-packages *after* its own: the same torch, torchvision, BasicSR, numpy and OpenCV builds are used by both
sides (no second multi-gigabyte torch download), while ``import realesrgan`` resolves to the original.

What could still shadow the original is put out of reach: a probe of that environment runs in Python's isolated
mode (``python -I``: neither the working folder, nor the script's folder, nor ``PYTHONPATH``, nor the user site come
first on ``sys.path``); a worker runs as ``python -E -s -m benchlib.<worker>`` from ``benchmarks/``
(:func:`worker_python`), where ``PYTHONPATH`` and the user site are ignored and the first ``sys.path`` entry is
``benchmarks/``, which holds the harness and no ``realesrgan``; the project's editable install is a ``.pth`` hook of
the project environment, which a plain path entry does not run; and a regular install of this project there comes
after the original's own site-packages. :func:`original_package_location` says where ``import realesrgan``
resolves, for the check that runs after every setup and for the tests.

The same environment holds what the original's video script needs, and nothing of it reaches the project's
environment: ``ffmpeg-python`` (with ``future``, which it imports) and ``imageio-ffmpeg``, whose wheel ships a
static ``ffmpeg`` program.
"""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Dict, List, Optional

__all__ = [
    'ORIGINAL_REQUIREMENT',
    'ORIGINAL_VERSION',
    'VIDEO_REQUIREMENTS',
    'WORKER_FLAGS',
    'default_venv_dir',
    'ensure_original_python',
    'isolated',
    'original_package_location',
    'worker_python',
]

ORIGINAL_REQUIREMENT = 'realesrgan==0.3.0'
ORIGINAL_VERSION = ORIGINAL_REQUIREMENT.split('==')[1]
# the original's video script: ffmpeg-python (which imports `future`) and an ffmpeg program (imageio-ffmpeg's)
VIDEO_REQUIREMENTS = ('ffmpeg-python==0.2.0', 'future', 'imageio-ffmpeg')
SHARED_SITE_PTH = 'zz_realesrgan_benchmark_shared_site.pth'
READY_MARKER = 'realesrgan-benchmark-ready.json'
BENCH_DIR = Path(__file__).resolve().parent.parent
# how a worker of the original's environment starts (with -m, from benchmarks/): no PYTHONPATH, no user site
WORKER_FLAGS = ('-E', '-s')
# Finds the package without importing it (the original cannot be imported before the harness's adjustments).
PROBE = (
    'import importlib.metadata as m, importlib.util as u, json, os, sysconfig; '
    "spec = u.find_spec('realesrgan'); "
    "print(json.dumps({'version': m.version('realesrgan'), "
    "'file': os.path.realpath(spec.origin) if spec else None, "
    "'site': os.path.realpath(sysconfig.get_paths()['purelib'])}))"
)


def default_venv_dir() -> Path:
    """Where the original's environment lives unless told otherwise (``$REALESRGAN_BENCH_ORIGINAL_VENV``)."""
    override = os.environ.get('REALESRGAN_BENCH_ORIGINAL_VENV')
    return Path(override).expanduser() if override else BENCH_DIR / '.venv-original'


def venv_python(venv_dir: Path) -> Path:
    """The interpreter of a virtual environment."""
    return Path(venv_dir) / ('Scripts/python.exe' if os.name == 'nt' else 'bin/python')


def isolated(python: str) -> List[str]:
    """The command prefix that runs the original's interpreter so that nothing beside it shadows the original.

    Args:
        python: The environment's interpreter.

    Returns:
        ``[python, '-I']``: isolated mode, where the working folder, the script's folder, ``PYTHONPATH`` and the
        user site-packages are not on ``sys.path``.
    """
    return [str(python), '-I']


def worker_python(python: str) -> List[str]:
    """The command prefix that runs a ``benchlib`` worker module with the original's interpreter.

    Args:
        python: The environment's interpreter.

    Returns:
        ``[python, '-E', '-s']``: ``PYTHONPATH`` and the user site-packages ignored; run it as ``-m benchlib.<worker>``
        from ``benchmarks/`` (:func:`benchlib.workers.run_job`), so that ``sys.path`` starts with that folder.
    """
    return [str(python), *WORKER_FLAGS]


def _run(command: List[str], what: str, cwd: Optional[Path] = None, env: Optional[Dict[str, str]] = None) -> str:
    """Run a setup command; on failure raise with its output and what to do."""
    completed = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env)
    if completed.returncode != 0:
        raise RuntimeError(
            f'{what} failed (exit status {completed.returncode}): {" ".join(map(str, command))}\n'
            f'{completed.stdout[-2000:]}{completed.stderr[-2000:]}\n'
            'Check network access to the package registry, or pass --skip-original.'
        )
    return completed.stdout


def original_package_location(python: Path, cwd: Optional[Path] = None, env: Optional[Dict[str, str]] = None) -> dict:
    """Where ``import realesrgan`` resolves in the original's environment, run as the benchmarks run it.

    Args:
        python: The environment's interpreter.
        cwd: Working folder of the probe (the caller's when None).
        env: Its environment variables (the caller's when None).

    Returns:
        ``{'version': ..., 'file': ..., 'site': ...}``: the distribution version, the package's ``__init__.py``
        and the environment's own site-packages.
    """
    output = _run(isolated(str(python)) + ['-c', PROBE], 'locating the original package', cwd=cwd, env=env)
    return json.loads(output.strip().splitlines()[-1])


def _expected_marker(shared_site: str) -> dict:
    return {
        'requirements': [ORIGINAL_REQUIREMENT, *VIDEO_REQUIREMENTS],
        'shared_site': shared_site,
        'base_python': sys.executable,
    }


def ensure_original_python(venv_dir: Optional[Path] = None) -> Path:
    """Return the Python of an environment where ``import realesrgan`` is the original 0.3.0 package.

    The environment is created and filled on the first call and reused afterwards (a marker file records what it
    was made from; a half-made or outdated environment is made again). Run probes as :func:`isolated` says, workers
    as :func:`worker_python` says.

    Args:
        venv_dir: Folder of the environment; :func:`default_venv_dir` when None.

    Returns:
        Path of the environment's Python interpreter.

    Raises:
        RuntimeError: When the environment cannot be created, the packages cannot be installed, or the installed
            package is not the original one.
    """
    venv_dir = Path(venv_dir) if venv_dir is not None else default_venv_dir()
    python = venv_python(venv_dir)
    shared_site = sysconfig.get_paths()['purelib']
    marker = venv_dir / READY_MARKER
    expected = _expected_marker(shared_site)
    if python.exists() and marker.exists():
        try:
            if json.loads(marker.read_text()) == expected:
                return python
        except (OSError, ValueError):
            pass

    _run([sys.executable, '-m', 'venv', '--clear', str(venv_dir)], 'creating the virtual environment')
    pip = isolated(str(python)) + ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps']
    # before the shared site-packages are visible, so that pip sees (and may change) only this environment
    _run(pip + [ORIGINAL_REQUIREMENT, *VIDEO_REQUIREMENTS], f'installing {ORIGINAL_REQUIREMENT} and the video tools')
    own_site = _run(
        isolated(str(python)) + ['-c', "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        "locating the environment's site-packages",
    ).strip()
    Path(own_site, SHARED_SITE_PTH).write_text(shared_site + '\n')

    probe = original_package_location(python, cwd=venv_dir)
    if probe['version'] != ORIGINAL_VERSION or not str(probe['file']).startswith(probe['site'] + os.sep):
        raise RuntimeError(
            f'the environment {venv_dir} imports realesrgan {probe["version"]} from {probe["file"]}, '
            f'not the original {ORIGINAL_VERSION} from {probe["site"]}; delete that folder and retry.'
        )
    marker.write_text(json.dumps(expected))
    return python
