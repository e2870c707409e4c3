"""What a benchmark ran on: the CPU's model and kind, its vector and matrix extensions, torch and oneDNN versions.

Speed figures only mean something with the CPU kind next to them: on CPUs with AMX-BF16 tile units bf16 is
several times faster than fp32 and ``--precision auto`` picks it, on AVX-512 CPUs without AMX it is slower and
``auto`` keeps fp32. Every benchmark prints :func:`header_lines` first and stores :func:`describe_machine` in its
JSON.
"""

import os
import platform
import re
from typing import Dict, List, Optional

__all__ = [
    'FLAGS_OF_INTEREST',
    'cpu_description',
    'cpu_facts',
    'cpu_kind',
    'describe_machine',
    'header_lines',
    'onednn_version',
]

# /proc/cpuinfo flag -> name in the header
FLAGS_OF_INTEREST = {
    'avx512f': 'AVX-512',
    'avx512_bf16': 'AVX512-BF16',
    'amx_bf16': 'AMX-BF16',
    'avx512_fp16': 'AVX512-FP16',
}


def cpu_kind(flags: Dict[str, bool], full_width_bf16: bool = False) -> str:
    """The CPU kind the checks are stated for, from the flags of :data:`FLAGS_OF_INTEREST`.

    Args:
        flags: Header name (``'AMX-BF16'``, ...) to whether the CPU has it.
        full_width_bf16: An AMD Zen 5 or newer (:func:`realesrgan.inference.precision.amd_full_width_bf16`).

    Returns:
        ``'AMX-BF16'``, ``'AVX-512 with full-width AVX512-BF16 (AMD Zen 5), no AMX'``, ``'AVX-512 with AVX512-BF16,
        no AMX'``, ``'AVX-512, no bf16'`` or ``'no AVX-512'``.
    """
    if flags.get('AMX-BF16'):
        return 'AMX-BF16'
    if flags.get('AVX-512') and flags.get('AVX512-BF16'):
        return f'AVX-512 with {"full-width AVX512-BF16 (AMD Zen 5)" if full_width_bf16 else "AVX512-BF16"}, no AMX'
    return 'AVX-512, no bf16' if flags.get('AVX-512') else 'no AVX-512'


def cpu_facts() -> Dict[str, object]:
    """What :func:`describe_machine` says of the CPU, without importing torch.

    Returns:
        ``cpu_model``, ``cpu_flags`` (header name to bool), ``cpu_kind`` and ``cpu_count``.
    """
    from realesrgan.inference.precision import amd_full_width_bf16, cpuinfo_fields

    info = cpuinfo_fields()
    present = set(info.get('flags', '').split())
    flags = {name: flag in present for flag, name in FLAGS_OF_INTEREST.items()}
    return {
        'cpu_model': info.get('model name') or platform.processor() or platform.machine(),
        'cpu_flags': flags,
        'cpu_kind': cpu_kind(flags, amd_full_width_bf16()),
        'cpu_count': os.cpu_count(),
    }


def cpu_description() -> str:
    """The CPU in one line, e.g. ``'AMD EPYC (kind: AVX-512 with AVX512-BF16, no AMX), 2 CPUs'``."""
    facts = cpu_facts()
    return f'{facts["cpu_model"]} (kind: {facts["cpu_kind"]}), {facts["cpu_count"]} CPUs'


def onednn_version() -> Optional[str]:
    """oneDNN's version in this torch build (from ``torch.__config__.show()``), None when it has none."""
    import torch

    match = re.search(r'(?:MKL-DNN|oneDNN)\s+v?([0-9][0-9.]*)', torch.__config__.show())
    return match.group(1) if match else None


def describe_machine(threads: Optional[int] = None) -> Dict[str, object]:
    """The facts of :func:`header_lines`, as a dict (for JSON reports).

    Args:
        threads: Threads the benchmark gives each runtime, when it sets them.

    Returns:
        ``cpu_model``, ``cpu_flags`` (header name to bool), ``cpu_kind``, ``cpu_count``, ``threads``, ``torch``,
        ``onednn``, ``cuda`` (device name or None) and ``auto_precision`` (what ``--precision auto`` picks on the
        CPU here).
    """
    import torch

    from realesrgan.inference.precision import resolve_precision

    return {
        **cpu_facts(),
        'threads': threads,
        'torch': torch.__version__,
        'onednn': onednn_version(),
        'cuda': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        'auto_precision': resolve_precision('auto', torch.device('cpu')),
    }


def header_lines(machine: Dict[str, object]) -> List[str]:
    """The lines every benchmark prints first.

    Args:
        machine: What :func:`describe_machine` returned.

    Returns:
        E.g. ``['CPU: AMD EPYC (kind: AVX-512 with AVX512-BF16, no AMX; AVX-512 yes, ...), 2 CPUs, 2 threads',
        'torch 2.14.1, oneDNN 3.12.0; --precision auto on this CPU: fp32']``.
    """
    flags = ', '.join(f'{name} {"yes" if has else "no"}' for name, has in machine['cpu_flags'].items())
    threads = f', {machine["threads"]} threads' if machine.get('threads') else ''
    lines = [
        f'CPU: {machine["cpu_model"]} (kind: {machine["cpu_kind"]}; {flags}), {machine["cpu_count"]} CPUs{threads}',
        f'torch {machine["torch"]}, oneDNN {machine["onednn"] or "-"}; --precision auto on this CPU: '
        f'{machine["auto_precision"]}',
    ]
    if machine.get('cuda'):
        lines.append(f'GPU: {machine["cuda"]}')
    return lines
