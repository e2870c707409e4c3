"""Running a benchmark as an older CPU kind on a newer CPU: instruction-set ceilings for every runtime.

A CPU with AMX or AVX-512 can run the code paths of an AVX2-only CPU: oneDNN (``ONEDNN_MAX_CPU_ISA``), ATen's
vectorised kernels (``ATEN_CPU_CAPABILITY``) and MKL (``MKL_ENABLE_INSTRUCTIONS``) each take a ceiling from the
environment, and :func:`realesrgan.inference.precision.cpu_kind` reads oneDNN's, so ``--precision auto`` picks
what it would pick on that kind. ncnn has no such switch: its PyPI wheel uses every extension the CPU has, so the
ncnn rows of an emulated run need an ncnn built without the newer extensions (``build_ncnn.py --kind avx2``), put on
the ncnn worker's ``PYTHONPATH``.

What this cannot copy is the other CPU's micro-architecture (cache sizes, clock, FMA units): an emulated row says
how the code paths compare on this CPU. The ratios carried over where both were measured: ncnn's fastest mode
against our fp32 at 256 px was 1.17x (RealESRGAN_x4plus) and 1.12x (realesr-animevideov3) on an AMD EPYC Zen 3, and
1.14x and 1.12x on an AMX-BF16 Xeon emulating AVX2 (``docs/performance.md``).
"""

import os
from typing import Dict, Optional, Tuple

__all__ = ['EMULATED_KINDS', 'NCNN_CMAKE_OFF', 'emulation_env', 'emulation_line', 'ncnn_pythonpath']

# --emulate-kind value -> the environment that caps every runtime at that kind's instruction set
EMULATED_KINDS: Dict[str, Dict[str, str]] = {
    'avx2': {'ONEDNN_MAX_CPU_ISA': 'AVX2', 'ATEN_CPU_CAPABILITY': 'avx2', 'MKL_ENABLE_INSTRUCTIONS': 'AVX2'},
    'avx512': {
        'ONEDNN_MAX_CPU_ISA': 'AVX512_CORE',
        'ATEN_CPU_CAPABILITY': 'avx512',
        'MKL_ENABLE_INSTRUCTIONS': 'AVX512',
    },
}

# --emulate-kind value -> the ncnn CMake options switched off to build an ncnn of that kind (build_ncnn.py)
NCNN_CMAKE_OFF: Dict[str, Tuple[str, ...]] = {
    'avx2': ('NCNN_AVX512', 'NCNN_AVXVNNI', 'NCNN_AVXNECONVERT'),
    'avx512': ('NCNN_AVX512BF16', 'NCNN_AVX512FP16', 'NCNN_AVXVNNI', 'NCNN_AVXNECONVERT'),
}


def emulation_env(kind: Optional[str]) -> Dict[str, str]:
    """The environment variables that make this machine run as ``kind`` (empty for None: the machine as it is).

    Args:
        kind: A key of :data:`EMULATED_KINDS`, or None.

    Returns:
        Variable name to value.
    """
    return dict(EMULATED_KINDS[kind]) if kind else {}


def emulation_line(kind: str, ncnn_build: Optional[str]) -> str:
    """The header line of a run emulating ``kind``: the ceilings set and which ncnn ran (or that none did).

    Args:
        kind: A key of :data:`EMULATED_KINDS`.
        ncnn_build: The ``--ncnn-build`` folder, or None when ncnn is left out.

    Returns:
        E.g. ``'emulated kind: avx2 (ONEDNN_MAX_CPU_ISA=AVX2 ...); ncnn: left out'``.
    """
    caps = ' '.join(f'{name}={value}' for name, value in EMULATED_KINDS[kind].items())
    return f'emulated kind: {kind} ({caps}); ncnn: {ncnn_build or "left out"}'


def ncnn_pythonpath(ncnn_build: Optional[str], env: Dict[str, str]) -> Dict[str, str]:
    """``env`` with an ncnn build's Python package first on ``PYTHONPATH`` (unchanged when ``ncnn_build`` is None).

    Args:
        ncnn_build: Folder holding the ``ncnn`` package of a build (``build_ncnn.py`` prints it), or None.
        env: A worker's environment.

    Returns:
        The environment for the ncnn worker.
    """
    if not ncnn_build:
        return env
    paths = [ncnn_build, env.get('PYTHONPATH', '')]
    return dict(env, PYTHONPATH=os.pathsep.join(path for path in paths if path))
