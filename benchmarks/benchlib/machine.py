"""What a benchmark ran on: the CPU's model and kind, its vector and matrix extensions, torch and oneDNN versions.

Speed figures only mean something with the CPU kind next to them: on CPUs with AMX-BF16 tile units bf16 is
several times faster than fp32 and ``--precision auto`` picks it, on AVX-512 CPUs without AMX it is slower and
``auto`` keeps fp32. The kinds and the choice per kind are the package's own
(:func:`realesrgan.inference.precision.cpu_kind`, :data:`~realesrgan.inference.precision.CPU_KIND_PRECISION`).
Every benchmark prints :func:`header_lines` first and stores :func:`describe_machine` in its JSON.
"""

import os
import platform
import re
from typing import Dict, List, Optional

__all__ = [
    'FLAGS_OF_INTEREST',
    'cpu_description',
    'cpu_facts',
    'describe_machine',
    'header_lines',
    'onednn_version',
]

# /proc/cpuinfo flag -> name in the header
FLAGS_OF_INTEREST = {
    'avx2': 'AVX2',
    'avx512f': 'AVX-512',
    'avx512_bf16': 'AVX512-BF16',
    'amx_bf16': 'AMX-BF16',
    'avx512_fp16': 'AVX512-FP16',
}


def cpu_facts() -> Dict[str, object]:
    """What :func:`describe_machine` says of the CPU, without importing torch.

    Returns:
        ``cpu_model``, ``cpu_flags`` (header name to bool), ``cpu_kind`` and ``cpu_count``.
    """
    from realesrgan.inference.precision import cpu_kind, cpuinfo_fields

    info = cpuinfo_fields()
    present = set(info.get('flags', '').split())
    return {
        'cpu_model': info.get('model name') or platform.processor() or platform.machine(),
        'cpu_flags': {name: flag in present for flag, name in FLAGS_OF_INTEREST.items()},
        'cpu_kind': cpu_kind(),
        'cpu_count': os.cpu_count(),
    }


def cpu_description() -> str:
    """The CPU in one line, e.g. ``'AMD EPYC 7B13 (kind: AVX2, no AVX-512), 2 CPUs'``."""
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
        threads: Threads the benchmark gives each runtime, when it sets them (None: the runtimes' defaults).

    Returns:
        ``cpu_model``, ``cpu_flags`` (header name to bool), ``cpu_kind``, ``cpu_count``, ``usable_cpus`` (this
        process's CPU affinity), ``threads``, ``torch_threads`` (torch's default here), ``realesrgan`` (the folder
        of the imported package), ``torch``, ``onednn``, ``cuda`` (device name or None) and ``auto_precision``
        (what ``--precision auto`` picks on the CPU here).
    """
    import torch

    import realesrgan
    from realesrgan.inference.precision import resolve_precision

    return {
        **cpu_facts(),
        'usable_cpus': len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count(),
        'threads': threads,
        'torch_threads': torch.get_num_threads(),
        'realesrgan': os.path.dirname(os.path.abspath(realesrgan.__file__)),
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
        E.g. ``['CPU: AMD EPYC 7B13 (kind: AVX2, no AVX-512; AVX2 yes, AVX-512 no, ...), 2 CPUs (2 usable), threads:
        torch default (2)', 'torch 2.14.1, oneDNN 3.12.0; --precision auto on this CPU: fp32; realesrgan from
        /src/Real-ESRGAN/realesrgan']``.
    """
    flags = ', '.join(f'{name} {"yes" if has else "no"}' for name, has in machine['cpu_flags'].items())
    threads = machine['threads'] or f'torch default ({machine["torch_threads"]})'
    lines = [
        f'CPU: {machine["cpu_model"]} (kind: {machine["cpu_kind"]}; {flags}), {machine["cpu_count"]} CPUs '
        f'({machine["usable_cpus"]} usable), threads: {threads}',
        f'torch {machine["torch"]}, oneDNN {machine["onednn"] or "-"}; --precision auto on this CPU: '
        f'{machine["auto_precision"]}; realesrgan from {machine["realesrgan"]}',
    ]
    if machine.get('cuda'):
        lines.append(f'GPU: {machine["cuda"]}')
    return lines
