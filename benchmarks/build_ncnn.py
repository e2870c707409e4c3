"""Build the ncnn runtime (with its Python package) for an older CPU kind, to benchmark that kind on a newer CPU.

ncnn's PyPI wheel picks its kernels from the CPU it runs on, so on an AVX-512 or AMX machine it never runs the
kernels an AVX2-only CPU gets. This script downloads the ncnn source release from PyPI (the same version as the
installed wheel, unless ``--version`` says otherwise), configures it with CMake without the extensions newer than
the kind (:data:`benchlib.emulation.NCNN_CMAKE_OFF`; Vulkan, int8, tools and examples are left out too) and builds
it. It prints the folder to pass to ``cpu_paths.py --ncnn-build`` / ``inference_benchmark.py --ncnn-build``. It
needs CMake, Ninja (or make) and a C++ compiler; about 6 minutes on 2 cores. A finished build is reused.

Example:

    python benchmarks/build_ncnn.py --kind avx2
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import List, Optional, Sequence

from benchlib.emulation import NCNN_CMAKE_OFF

DEFAULT_CACHE = Path.home() / '.cache' / 'realesrgan-bench'
PYPI_JSON = 'https://pypi.org/pypi/ncnn/json'


def installed_ncnn_version() -> Optional[str]:
    """The version of the installed ``ncnn`` wheel, None when there is none."""
    from importlib import metadata

    try:
        return metadata.version('ncnn')
    except metadata.PackageNotFoundError:
        return None


def sdist_url(version: str) -> str:
    """The address of ncnn's source release ``version`` on PyPI (the newest for an empty ``version``)."""
    with urllib.request.urlopen(PYPI_JSON, timeout=60) as response:
        project = json.load(response)
    files = project['releases'].get(version, []) if version else project['urls']
    for entry in files:
        if entry['packagetype'] == 'sdist':
            return urllib.parse.urljoin(PYPI_JSON, entry['url'])  # a mirror may give addresses relative to itself
    raise SystemExit(f'error: PyPI has no source release of ncnn {version or "(newest)"}; pass another --version')


def fetch_source(version: str, folder: Path) -> Path:
    """Download and unpack the source release into ``folder`` (once); returns the source tree."""
    marker = folder / 'source-complete'
    if marker.exists():
        return Path(marker.read_text().strip())
    folder.mkdir(parents=True, exist_ok=True)
    url = sdist_url(version)
    print(f'downloading {url}', flush=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix='.tar.gz.partial', delete=False) as partial:
        with urllib.request.urlopen(url, timeout=300) as response:
            shutil.copyfileobj(response, partial)
    with tarfile.open(partial.name) as archive:
        top = archive.getnames()[0].split('/')[0]
        archive.extractall(folder, filter='data') if sys.version_info >= (3, 12) else archive.extractall(folder)
    os.unlink(partial.name)
    marker.write_text(str(folder / top))
    return folder / top


def cmake_options(kind: str) -> List[str]:
    """CMake options of an ncnn build for ``kind``: CPU only, Python package on, newer extensions off."""
    options = {
        'CMAKE_BUILD_TYPE': 'Release',
        'NCNN_VULKAN': 'OFF',
        'NCNN_PYTHON': 'ON',
        'NCNN_INT8': 'OFF',
        'NCNN_BUILD_TOOLS': 'OFF',
        'NCNN_BUILD_EXAMPLES': 'OFF',
        'NCNN_BUILD_BENCHMARK': 'OFF',
        'NCNN_BUILD_TESTS': 'OFF',
        'Python3_EXECUTABLE': sys.executable,
        'PYTHON_EXECUTABLE': sys.executable,
        **{name: 'OFF' for name in NCNN_CMAKE_OFF[kind]},
    }
    return [f'-D{name}={value}' for name, value in options.items()]


def python_package_dir(build_dir: Path) -> Optional[Path]:
    """The folder holding the built ``ncnn`` Python package (``--ncnn-build``), None before the build."""
    found = sorted((build_dir / 'python' / 'ncnn').glob('ncnn*.so'))
    return build_dir / 'python' if found else None


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Build (or find) the ncnn of a kind and print its Python package folder."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--kind', required=True, choices=sorted(NCNN_CMAKE_OFF))
    parser.add_argument('--version', help='ncnn version (default: the installed wheel, else the newest)')
    parser.add_argument('--dest', type=Path, default=None, help=f'folder of the build (default: {DEFAULT_CACHE})')
    parser.add_argument('--jobs', type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    missing = [tool for tool in ('cmake', 'c++') if shutil.which(tool) is None]
    if missing:
        needed = 'CMake and a C++ compiler (Debian: cmake g++ ninja-build)'
        parser.error(f'{" and ".join(missing)} not found: install {needed}')
    version = args.version or installed_ncnn_version() or ''
    dest = args.dest or DEFAULT_CACHE / f'ncnn-{version or "latest"}-{args.kind}'
    build_dir = dest / 'build'
    ready = python_package_dir(build_dir)
    if ready is None:
        source = fetch_source(version, dest)
        generator = ['-G', 'Ninja'] if shutil.which('ninja') else []
        subprocess.run(
            ['cmake', '-S', str(source), '-B', str(build_dir), *generator, *cmake_options(args.kind)], check=True
        )
        subprocess.run(['cmake', '--build', str(build_dir), '--parallel', str(args.jobs)], check=True)
        ready = python_package_dir(build_dir)
        if ready is None:
            raise SystemExit(f'error: the build finished without an ncnn Python module under {build_dir}')
    print(ready)
    return 0


if __name__ == '__main__':
    sys.exit(main())
