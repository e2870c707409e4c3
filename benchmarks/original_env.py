"""A virtual environment holding the original ``realesrgan==0.3.0`` package, created on demand and reused.

The project installs its own ``realesrgan`` (editable) in its environment, so the original package cannot live
there. This module makes a separate environment (by default under ``~/.cache/realesrgan-benchmark``), installs the
original package from the registry without its dependencies, and lets that environment see the project
environment's site-packages *after* its own: the same torch, torchvision, BasicSR, numpy and OpenCV builds are
used by both sides (no second multi-gigabyte torch download), while ``import realesrgan`` resolves to the original.
The project's editable install is a ``.pth`` hook of the project environment, which a plain path entry does not
run, so it cannot shadow the original.
"""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Optional

__all__ = ['ORIGINAL_REQUIREMENT', 'default_venv_dir', 'ensure_original_python']

ORIGINAL_REQUIREMENT = 'realesrgan==0.3.0'
SHARED_SITE_PTH = 'zz_realesrgan_benchmark_shared_site.pth'
READY_MARKER = 'realesrgan-benchmark-ready.json'
# Finds the package without importing it (the original cannot be imported before the harness's adjustments).
PROBE = (
    'import importlib.metadata as m, importlib.util as u, json, os; '
    "print(json.dumps({'version': m.version('realesrgan'), "
    "'file': os.path.realpath(u.find_spec('realesrgan').origin)}))"
)


def default_venv_dir() -> Path:
    """Where the original's environment lives unless told otherwise (``$REALESRGAN_BENCH_ORIGINAL_VENV``)."""
    override = os.environ.get('REALESRGAN_BENCH_ORIGINAL_VENV')
    if override:
        return Path(override).expanduser()
    tag = f'py{sys.version_info.major}{sys.version_info.minor}'
    return Path.home() / '.cache' / 'realesrgan-benchmark' / f'original-{ORIGINAL_REQUIREMENT.split("==")[1]}-{tag}'


def _venv_python(venv_dir: Path) -> Path:
    return venv_dir / ('Scripts/python.exe' if os.name == 'nt' else 'bin/python')


def _run(command: list, what: str) -> str:
    """Run a setup command; on failure raise with its output and what to do."""
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(
            f'{what} failed (exit status {completed.returncode}): {" ".join(map(str, command))}\n'
            f'{completed.stdout[-2000:]}{completed.stderr[-2000:]}\n'
            'Check network access to the package registry, or pass --skip-original.'
        )
    return completed.stdout


def _expected_marker(shared_site: str) -> dict:
    return {'requirement': ORIGINAL_REQUIREMENT, 'shared_site': shared_site, 'base_python': sys.executable}


def ensure_original_python(venv_dir: Optional[Path] = None) -> Path:
    """Return the Python of an environment where ``import realesrgan`` is the original 0.3.0 package.

    The environment is created and filled on the first call and reused afterwards (a marker file records what it
    was made from; a half-made or outdated environment is made again).

    Args:
        venv_dir: Folder of the environment; :func:`default_venv_dir` when None.

    Returns:
        Path of the environment's Python interpreter.

    Raises:
        RuntimeError: When the environment cannot be created, the package cannot be installed, or the installed
            package is not the original one.
    """
    venv_dir = Path(venv_dir) if venv_dir is not None else default_venv_dir()
    python = _venv_python(venv_dir)
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
    _run(
        [
            str(python),
            '-m',
            'pip',
            'install',
            '--quiet',
            '--disable-pip-version-check',
            '--no-deps',
            ORIGINAL_REQUIREMENT,
        ],
        f'installing {ORIGINAL_REQUIREMENT}',
    )
    own_site = _run(
        [str(python), '-c', "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        "locating the environment's site-packages",
    ).strip()
    Path(own_site, SHARED_SITE_PTH).write_text(shared_site + '\n')

    probe = json.loads(_run([str(python), '-c', PROBE], 'importing the original package').strip().splitlines()[-1])
    wanted_version = ORIGINAL_REQUIREMENT.split('==')[1]
    if probe['version'] != wanted_version or not probe['file'].startswith(os.path.realpath(own_site)):
        raise RuntimeError(
            f'the environment {venv_dir} imports realesrgan {probe["version"]} from {probe["file"]}, '
            f'not the original {wanted_version} from {own_site}; delete that folder and retry.'
        )
    marker.write_text(json.dumps(expected))
    return python
