"""Measure the ways of running a model's network on this CPU (or on an emulated older kind), side by side with ncnn.

Issue 30 asks, for CPUs where our default loses to ncnn, to measure and choose among what exists. Each path runs
the bare network on the benchmark photograph (one image, no pre-pad, no tiles) in a fresh worker process
(``benchlib.cpu_path_worker``; ncnn through ``benchlib.ncnn_worker``):

* ``channels_last``: eager fp32, channels-last (our fp32 default, the reference of the speed and PSNR columns);
* ``engine``: ``channels_last`` as ``RealESRGANer`` runs it, RRDBNet's upsampling tail in bands of rows (the
  other paths run the tail whole: the largest band);
* ``contiguous``: eager fp32 in PyTorch's default layout;
* ``pinned``: ``channels_last`` with OpenMP threads pinned to cores (``OMP_PROC_BIND=close OMP_PLACES=cores``);
* ``jit_freeze``: TorchScript trace, ``torch.jit.freeze`` and ``optimize_for_inference`` (oneDNN weight prepacking);
* ``inductor``: ``torch.compile`` (inductor, CPU, freezing: prepacked weights, convolution + activation fused); the
  ``first call`` column is its compilation;
* ``nnpack``: every 3x3 convolution through NNPACK's Winograd kernels (AVX2);
* ``bf16``: autocast bf16 channels-last (only where the kind computes bf16 natively, unless named in ``--paths``);
* ``ncnn-fp32``, ``ncnn-bf16``: the ncnn runtime in fp32 and in its bf16-storage mode.

``--emulate-kind avx2`` runs every worker capped at AVX2 (:mod:`benchlib.emulation`); the ncnn rows then need
``--ncnn-build`` (an ncnn built by ``build_ncnn.py --kind avx2``), else they are left out and the reason printed.

Example (the AVX2 table of ``docs/performance.md``, on a newer CPU):

    python benchmarks/build_ncnn.py --kind avx2
    python benchmarks/cpu_paths.py --emulate-kind avx2 --ncnn-build ~/.cache/realesrgan-bench/ncnn-avx2/python
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from benchlib.emulation import EMULATED_KINDS, emulation_env, emulation_line, ncnn_pythonpath
from benchlib.machine import describe_machine, header_lines
from benchlib.sample_images import BENCHMARK_PHOTO, benchmark_image
from benchlib.text_table import format_table
from benchlib.workers import run_job, worker_env

import realesrgan  # noqa: F401 (first: makes BasicSR importable on current torchvision)
from realesrgan.metrics import psnr
from realesrgan.zoo import get_model_spec, resolve_model_path

REFERENCE_PATH = 'channels_last'
TORCH_PATHS = ('channels_last', 'engine', 'contiguous', 'pinned', 'jit_freeze', 'inductor', 'nnpack', 'bf16')
NCNN_PATHS = ('ncnn-fp32', 'ncnn-bf16')
PINNED_ENV = {'OMP_PROC_BIND': 'close', 'OMP_PLACES': 'cores'}
HEADERS = ('model', 'size', 'path', 'median s', 'first call s', 'x reference', 'PSNR dB', 'threads')


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """The command line (see the module's text)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--models', nargs='+', default=['RealESRGAN_x4plus', 'realesr-animevideov3'])
    parser.add_argument('--sizes', nargs='+', type=int, default=[64, 256], help='square input sides in pixels')
    parser.add_argument('--paths', nargs='+', choices=TORCH_PATHS + NCNN_PATHS, help='default: every path')
    parser.add_argument('--repeats', type=int, default=3, help='timed calls after the first (default: 3)')
    parser.add_argument('--threads', type=int, default=None, help="every runtime's threads (default: its own)")
    parser.add_argument('--emulate-kind', choices=sorted(EMULATED_KINDS), help='cap every runtime at this kind')
    parser.add_argument('--ncnn-build', help="folder with an ncnn build's Python package (build_ncnn.py prints it)")
    parser.add_argument('--weights-dir', default=None, help='where official weights are cached')
    parser.add_argument('--json', metavar='PATH', help='also write every row to this JSON file')
    args = parser.parse_args(argv)
    if args.repeats < 1 or min(args.sizes) < 8:
        parser.error('--repeats must be at least 1 and every size at least 8 px')
    for model in args.models:
        try:
            get_model_spec(model)
        except ValueError as error:
            parser.error(str(error))
    return args


def chosen_paths(args: argparse.Namespace, auto_precision: str) -> List[str]:
    """The paths to run: ``--paths``, or all of them (bf16 only where ``auto`` picks it: emulated bf16 is slow)."""
    if args.paths:
        return [REFERENCE_PATH] + [path for path in args.paths if path != REFERENCE_PATH]
    return [path for path in TORCH_PATHS + NCNN_PATHS if path != 'bf16' or auto_precision == 'bf16']


def run_path(
    path: str,
    model: str,
    model_path: str,
    input_path: Path,
    work_dir: Path,
    env: Dict[str, str],
    args: argparse.Namespace,
) -> Dict[str, Any]:
    """Run one path in its worker; returns its result (``error`` set when it failed)."""
    output = work_dir / f'{model}_{input_path.stem}_{path}.npy'
    common = {'repeats': args.repeats, 'threads': args.threads, 'input': str(input_path), 'output': str(output)}
    if path in NCNN_PATHS:
        job = dict(common, task='inference', model_name=model, mode=path.split('-')[1])
        run = run_job(
            [sys.executable], 'ncnn_worker', job, work_dir / 'job.json', ncnn_pythonpath(args.ncnn_build, env)
        )
    else:
        torch_path = REFERENCE_PATH if path == 'pinned' else path
        job = dict(common, task='path', path=torch_path, model_name=model, model_path=model_path)
        path_env = dict(env, **PINNED_ENV) if path == 'pinned' else env
        run = run_job([sys.executable], 'cpu_path_worker', job, work_dir / 'job.json', path_env)
    if run.result is None:
        return {'error': run.error}
    return dict(run.result, output=str(output))


def row_of(model: str, size: int, path: str, result: Dict[str, Any], reference: Dict[str, Any]) -> List[str]:
    """One table row: times, speed against the reference path, PSNR against its output."""
    if 'error' in result:
        return [model, str(size), path, 'failed', '-', '-', '-', result['error'][:60]]
    speed = reference['median_s'] / result['median_s'] if 'median_s' in reference else float('nan')
    quality = psnr(np.load(reference['output']), np.load(result['output'])) if 'output' in reference else float('nan')
    first = result.get('first_call_s')
    return [
        model,
        str(size),
        path,
        f'{result["median_s"]:.4f}',
        f'{first:.2f}' if first is not None else '-',
        f'{speed:.2f}',
        'inf' if quality == float('inf') else f'{quality:.1f}',
        str(result.get('threads', '-')),
    ]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run every path on every model and size; print the table (and write ``--json``)."""
    args = parse_args(argv)
    os.environ.update(emulation_env(args.emulate_kind))  # before describe_machine: the kind follows the ceiling
    machine = describe_machine(args.threads)
    for line in header_lines(machine):
        print(line)
    if args.emulate_kind:
        print(emulation_line(args.emulate_kind, args.ncnn_build))
    paths = chosen_paths(args, machine['auto_precision'])
    if args.emulate_kind and not args.ncnn_build:
        paths = [path for path in paths if path not in NCNN_PATHS]
    print(f'input: {BENCHMARK_PHOTO}; paths: {", ".join(paths)}')
    env = worker_env(args.threads)
    rows, records = [], []
    with tempfile.TemporaryDirectory(prefix='realesrgan-cpu-paths-') as folder:
        work_dir = Path(folder)
        for model in args.models:
            try:
                model_path = resolve_model_path(model, weights_dir=args.weights_dir, download=False, progress=False)
            except (OSError, ValueError) as error:  # weights that cannot be found or converted
                print(f'error: {error}')
                return 2
            for size in args.sizes:
                input_path = work_dir / f'input_{size}.npy'
                np.save(input_path, benchmark_image(size))
                results = {}
                for path in paths:
                    results[path] = run_path(path, model, model_path, input_path, work_dir, env, args)
                    rows.append(row_of(model, size, path, results[path], results[REFERENCE_PATH]))
                    print('  '.join(rows[-1]), flush=True)
                    records.append({'model': model, 'size': size, 'path': path, **results[path]})
    print()
    print(format_table(HEADERS, rows))
    if args.json:
        Path(args.json).write_text(json.dumps({'machine': machine, 'emulated': args.emulate_kind, 'rows': records}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
