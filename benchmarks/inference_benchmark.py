"""Benchmark this project's Real-ESRGAN on the CPU against the original package and the ncnn runtime.

For every model and image size, each configuration runs in a fresh worker process (so that peak-memory figures do
not mix): our ``RealESRGANer.enhance`` in fp32 and in the default CPU precision, the original ``realesrgan==0.3.0``
package's ``RealESRGANer`` (fp32, from its own virtual environment, created on the first run), and the ncnn
runtime on the official ncnn files of the same model (fp32 and its reduced-precision storage modes). Every worker
runs its call once to warm up, then ``--repeats`` times; the table shows the median. With ``--rounds N`` every
worker is started N times, round-robin over all configurations, so that slow drifts of the machine's speed (shared
hosts) fall on every implementation alike. All implementations upscale the same real photograph (scikit-image's
astronaut, resized to each size: random noise hits denormal floats on some CPUs and makes RRDBNet several times
slower than on any real image) with the same weights (``realesrgan.zoo.resolve_model_path``) and the same tile
settings (ncnn always runs untiled, so it is left out of tiled sizes); PSNR is measured against our fp32 untiled
output of the same image. Every runtime keeps its own thread default, as in a user's command, unless ``--threads``
pins them all; the threads each used are printed.

The model's convolution FLOPs are counted from its layers and compared with the best 3x3-convolution throughput
measured on this CPU in the same precision (``benchlib.conv_peak_worker``, bounded by ``--peak-budget`` seconds per
precision). The header names the CPU (model, kind, AVX2 / AVX-512 / AVX512-BF16 / AMX-BF16 / AVX512-FP16), torch,
oneDNN and what ``--precision auto`` picks there; the table is followed by the checks of that CPU kind
(``benchlib.inference_report.evaluate_checks``) as PASS / FAIL lines. The original runs in its own environment
(``benchlib.original_env``). The training side (``feed_data``) is timed by ``training_speed.py``. With
``--emulate-kind avx2`` a newer CPU runs as an AVX2-only one (``benchlib.emulation``; the checks are then that
kind's), with ncnn from ``--ncnn-build`` (``build_ncnn.py``).

Example (the full run):

    python benchmarks/inference_benchmark.py --rounds 2 --repeats 1 --json results/benchmark.json
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
from benchlib.conv_flops import conv_flops_per_input_pixel, model_gflops
from benchlib.emulation import EMULATED_KINDS, emulation_env, emulation_line, ncnn_pythonpath
from benchlib.inference_report import (
    TABLE_HEADERS,
    TILED_CHECK_SIZE,
    Measurement,
    evaluate_checks,
    measurement_rows,
    size_label,
    targets_line,
)
from benchlib.machine import describe_machine, header_lines
from benchlib.original_env import ORIGINAL_REQUIREMENT, default_venv_dir, ensure_original_python, worker_python
from benchlib.sample_images import BENCHMARK_PHOTO, benchmark_image
from benchlib.text_table import format_table
from benchlib.workers import run_job, worker_env
from tqdm import tqdm

import realesrgan  # noqa: F401 (first: makes BasicSR importable on current torchvision)
from realesrgan.inference.tiling import DEFAULT_TILE_BLEND, plan_tiles
from realesrgan.metrics import psnr
from realesrgan.zoo import get_model_spec, resolve_model_path

DEFAULT_MODELS = ('RealESRGAN_x4plus', 'realesr-animevideov3')
DEFAULT_SIZES = ('64', '128', '256', '512t')
DEFAULT_NCNN_MODES = ('fp32', 'bf16')
# the precisions our CPU runs compute in (fp16 never runs on a CPU, and its matmul alone took minutes there)
PEAK_PRECISIONS = ('fp32', 'bf16')
NCNN_MODES = ('fp32', 'fp16', 'bf16')


@dataclass
class Task:
    """One worker run: which worker module, with which Python, on which job, filling which measurement."""

    measurement: Any
    worker: str
    python: Sequence[str]  # the interpreter command (the original's: original_env.worker_python)
    job: Dict[str, Any]
    every_round: bool = True


def parse_size(text: str) -> Tuple[int, bool]:
    """Parse a ``--sizes`` entry: ``256`` (untiled) or ``512t`` (tiled with ``--tile``).

    Args:
        text: The entry.

    Returns:
        (side length in pixels, tiled).
    """
    tiled = text.lower().endswith('t')
    number = text[:-1] if tiled else text
    if not number.isdigit() or int(number) < 8:
        raise argparse.ArgumentTypeError(
            f'invalid size {text!r}: give a side length of at least 8 pixels, '
            'optionally followed by "t" for a tiled run (e.g. 256 or 512t)'
        )
    return int(number), tiled


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options (see ``--help``)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument('--models', nargs='+', default=list(DEFAULT_MODELS), help='zoo model names')
    parser.add_argument(
        '--sizes',
        nargs='+',
        type=parse_size,
        default=list(DEFAULT_SIZES),
        metavar='SIZE',
        help='square input sizes in pixels; a trailing "t" runs that size tiled (--tile)',
    )
    parser.add_argument(
        '--precisions',
        nargs='+',
        choices=('fp32', 'bf16', 'fp16', 'auto'),
        default=['fp32', 'auto'],
        help='precisions of our runs (auto: our default on this CPU); our fp32 untiled run is always made, as the '
        'PSNR reference',
    )
    parser.add_argument('--repeats', type=int, default=3, help='timed runs per configuration, after one warm-up')
    parser.add_argument(
        '--rounds',
        type=int,
        default=1,
        help='worker runs per configuration, round-robin over all configurations (each adds a '
        'warm-up and --repeats timed runs)',
    )
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help="CPU threads of every runtime (default: each runtime's own default, as in a user's command)",
    )
    parser.add_argument('--tile', type=int, default=256, help='tile size of the tiled sizes')
    parser.add_argument('--tile-pad', type=int, default=10, help='tile padding (RealESRGANer tile_pad)')
    parser.add_argument('--pre-pad', type=int, default=0, help='RealESRGANer pre_pad (the CLI default is 0)')
    parser.add_argument('--skip-original', action='store_true', help='do not run the original package')
    parser.add_argument('--skip-ncnn', action='store_true', help='do not run the ncnn runtime')
    parser.add_argument(
        '--emulate-kind',
        choices=sorted(EMULATED_KINDS),
        help='run every runtime capped at an older CPU kind (benchlib/emulation.py); ncnn then needs --ncnn-build',
    )
    parser.add_argument('--ncnn-build', help="folder with an ncnn build's Python package (build_ncnn.py prints it)")
    parser.add_argument(
        '--ncnn-modes',
        nargs='+',
        choices=NCNN_MODES,
        default=list(DEFAULT_NCNN_MODES),
        help='ncnn storage modes (fp16 storage gave output bit-identical to fp32 on an x86 CPU: no effect there)',
    )
    parser.add_argument(
        '--peak-budget',
        type=float,
        default=10.0,
        help='seconds the convolution peak probe may take per precision (0: no probe, no %% peak column)',
    )
    parser.add_argument(
        '--weights-dir',
        default=None,
        help='where official weights are cached (default: the weights location, see README)',
    )
    parser.add_argument(
        '--download',
        action='store_true',
        help='download release weights that are not cached (default: cached, else converted from the packaged '
        'ncnn models, i.e. the very weights the ncnn runtime uses)',
    )
    parser.add_argument(
        '--original-venv',
        default=str(default_venv_dir()),
        help=f'virtual environment for {ORIGINAL_REQUIREMENT} (created on first use)',
    )
    parser.add_argument('--json', metavar='PATH', help='also write every measurement to this JSON file')
    parser.add_argument('--keep-work-dir', action='store_true', help='keep the inputs/outputs of the workers')
    args = parser.parse_args(argv)
    if args.emulate_kind and not args.ncnn_build and not args.skip_ncnn:
        print(
            f'ncnn is left out: its wheel uses every extension of this CPU, not only {args.emulate_kind} '
            f'(build one with: python benchmarks/build_ncnn.py --kind {args.emulate_kind}, then --ncnn-build)'
        )
        args.skip_ncnn = True
    args.sizes = [parse_size(size) if isinstance(size, str) else size for size in args.sizes]  # the defaults
    for name in ('repeats', 'rounds', 'threads', 'tile'):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be at least 1, got {getattr(args, name)}')
    for name in ('tile_pad', 'pre_pad', 'peak_budget'):
        if getattr(args, name) < 0:
            parser.error(f'--{name.replace("_", "-")} must not be negative, got {getattr(args, name)}')
    for model in args.models:
        try:
            get_model_spec(model)
        except ValueError as error:
            parser.error(str(error))
    one_tile = (tile_side_of(TILED_CHECK_SIZE, args.tile, args.tile_pad), False)
    if (TILED_CHECK_SIZE, True) in args.sizes and one_tile not in args.sizes:
        args.sizes.append(one_tile)  # the tiled run's memory check compares with one tile run whole
    return args


def tile_side_of(size: int, tile: int, tile_pad: int) -> int:
    """Input side of the tiles a ``size`` px square runs in (the tile, and ``tile_pad`` + the blend on each side).

    Args:
        size: Side of the tiled image.
        tile: ``--tile``.
        tile_pad: ``--tile-pad``.

    Returns:
        The tiles' side, e.g. 320 for 512 px in 256 px tiles with tile_pad 10 and the default tile_blend 22.
    """
    return plan_tiles(size, size, tile, tile_pad + DEFAULT_TILE_BLEND).rows.size


def emulation_lines(args: argparse.Namespace) -> List[str]:
    """The header line of an emulated run (none otherwise): the ceilings set and which ncnn ran."""
    if not args.emulate_kind:
        return []
    return [emulation_line(args.emulate_kind, None if args.skip_ncnn else args.ncnn_build)]


def run_task(task: Task, work_dir: Path, env: Dict[str, str], index: int) -> Dict[str, Any]:
    """Run one worker; add its times to its measurement and raise the peak memory, or set its error. Never raises.

    Args:
        task: The worker run.
        work_dir: Folder for the job and result files.
        env: Environment of the worker (``benchlib.workers.worker_env``).
        index: Unique number of the task (file names).

    Returns:
        The worker's result dict (empty when it failed).
    """
    run = run_job(task.python, task.worker, task.job, work_dir / f'job_{index}.json', env)
    if run.result is None:
        task.measurement.error = run.error
        log = work_dir / f'stderr_{index}.txt'
        log.write_text(run.stderr)
        tqdm.write(
            f'FAILED {task.worker} {task.job.get("task")}: {run.error} (full log: {log}, kept with --keep-work-dir)'
        )
        return {}
    task.measurement.times = list(task.measurement.times) + run.result.get('times', [])
    task.measurement.peak_rss_mib = max(task.measurement.peak_rss_mib or 0.0, run.result['peak_rss_mib'])
    task.measurement.threads = run.result.get('threads')
    return run.result


def resolve_precisions(requested: Sequence[str]) -> List[str]:
    """The distinct precisions our runs use on this CPU, in the requested order.

    Each name goes through the library's own resolution: ``auto`` becomes the CPU default, and fp16 (which the
    library never runs on a CPU) becomes fp32.

    Args:
        requested: Names from ``--precisions``.

    Returns:
        Resolved names without repeats.
    """
    from realesrgan.inference.precision import resolve_precision

    return list(dict.fromkeys(resolve_precision(name, torch.device('cpu')) for name in requested))


class Config(NamedTuple):
    """One configuration of one image: who runs it, how, and the job fields specific to it."""

    impl: str
    precision: str
    worker: str
    python: Sequence[str]
    extra: Dict[str, Any]
    tiled: bool
    compute: str = 'fp32'
    reference: bool = False
    single_run: bool = False


def image_configs(
    args: argparse.Namespace,
    spec: Any,
    model_path: str,
    tiled: bool,
    needs_reference: bool,
    reference_is_timed: bool,
    precisions: Sequence[str],
    original_python: Optional[Sequence[str]],
) -> List[Config]:
    """The configurations of one model on one image size.

    Args:
        args: Command-line options.
        spec: The model's zoo entry.
        model_path: Its weights (official layout).
        tiled: Whether this size runs tiled.
        needs_reference: Whether our fp32 untiled run of this image is still to be planned (first occurrence).
        reference_is_timed: Whether that run is a row of its own size (else it is timed once, as a reference).
        precisions: Our precisions to run (resolved: fp32, bf16, ...).
        original_python: Interpreter command of the original's environment (``worker_python``), None to leave it
            out.

    Returns:
        The configurations, the reference first.
    """
    ours = dict(model_path=model_path, tile=args.tile if tiled else 0, tile_pad=args.tile_pad, pre_pad=args.pre_pad)
    configs = []
    if needs_reference:
        configs.append(
            Config(
                'ours',
                'fp32',
                'ours_worker',
                [sys.executable],
                dict(ours, tile=0, precision='fp32'),
                tiled=False,
                reference=True,
                single_run=not reference_is_timed,
            )
        )
    for precision in precisions:
        if precision != 'fp32' or tiled:  # the untiled fp32 run is the reference
            configs.append(
                Config(
                    'ours',
                    precision,
                    'ours_worker',
                    [sys.executable],
                    dict(ours, precision=precision),
                    tiled,
                    compute=precision,
                )
            )
    if original_python:
        configs.append(
            Config(
                'original',
                'fp32',
                'original_worker',
                original_python,
                dict(ours, arch=spec.network.arch, arch_kwargs=dict(spec.network.kwargs), netscale=spec.netscale),
                tiled,
            )
        )
    if not args.skip_ncnn and not tiled and spec.ncnn_name:
        configs.extend(
            Config('ncnn', mode, 'ncnn_worker', [sys.executable], dict(mode=mode), tiled) for mode in args.ncnn_modes
        )
    return configs


def plan_inference(
    args: argparse.Namespace, work_dir: Path, precisions: Sequence[str], original_python: Optional[Sequence[str]]
) -> Tuple[List[Task], Dict[Tuple[str, int], str]]:
    """Every inference configuration to run, plus where each image's reference output will be.

    Args:
        args: Command-line options.
        work_dir: Folder for the input and output images.
        precisions: Our precisions to run (resolved: fp32, bf16, ...).
        original_python: Interpreter command of the original's environment, None to leave it out.

    Returns:
        The tasks (the reference first for each image) and, per (model, size), the output path of our fp32 untiled
        run that PSNR figures compare against.
    """
    tasks: List[Task] = []
    references: Dict[Tuple[str, int], str] = {}
    sizes = sorted(set(args.sizes))
    for model in args.models:
        spec = get_model_spec(model)
        model_path = resolve_model_path(model, weights_dir=args.weights_dir, download=args.download, progress=False)
        flops_per_pixel = conv_flops_per_input_pixel(spec.build())
        for size, tiled in sizes:
            input_path = work_dir / f'input_{size}.npy'
            if not input_path.exists():
                np.save(input_path, benchmark_image(size))  # a real photograph: see the module's text
            configs = image_configs(
                args,
                spec,
                model_path,
                tiled,
                (model, size) not in references,
                (size, False) in sizes,
                precisions,
                original_python,
            )
            for config in configs:
                output = str(work_dir / f'out_{len(tasks)}.npy')
                if config.reference:
                    references[(model, size)] = output
                measurement = Measurement(
                    model=model,
                    size=size,
                    tiled=config.tiled,
                    impl=config.impl,
                    precision=config.precision,
                    out_pixels=(size * spec.netscale) ** 2,
                    gflops=model_gflops(flops_per_pixel, size, size),
                    compute=config.compute,
                    is_reference=config.reference,
                )
                job = dict(
                    config.extra,
                    task='inference',
                    model_name=model,
                    input=str(input_path),
                    output=output,
                    repeats=1 if config.single_run else args.repeats,
                    threads=args.threads,
                )
                tasks.append(Task(measurement, config.worker, config.python, job, every_round=not config.single_run))
    return tasks, references


def attach_psnr(tasks: Sequence[Task], references: Dict[Tuple[str, int], str]) -> None:
    """Set each successful inference measurement's PSNR against our fp32 untiled output of the same image."""
    for task in tasks:
        item = task.measurement
        reference = references.get((item.model, item.size))
        if item.is_reference or item.error is not None:
            continue
        if reference and os.path.exists(reference) and os.path.exists(task.job['output']):
            item.psnr = psnr(np.load(reference), np.load(task.job['output']))


def measure_peaks(args: argparse.Namespace, work_dir: Path, env: Dict[str, str]) -> Dict[str, Dict[str, Any]]:
    """The best 3x3-convolution GFLOP/s per precision (``benchlib.conv_peak_worker``); empty with ``--peak-budget 0``.

    Returns:
        Per precision: ``gflops`` (None where the probe failed), ``shape``, ``seconds`` and maybe ``note``.
    """
    if not args.peak_budget:
        return {}
    holder = Measurement(model='-', size=0, tiled=False, impl='peak', precision='-')
    job = dict(task='peak', precisions=list(PEAK_PRECISIONS), budget_s=args.peak_budget, threads=args.threads)
    result = run_task(Task(holder, 'conv_peak_worker', [sys.executable], job), work_dir, env, index=999)
    return result.get('peaks', {name: {'gflops': None, 'note': holder.error} for name in PEAK_PRECISIONS})


def peak_line(peaks: Dict[str, Dict[str, Any]]) -> str:
    """The printed line of :func:`measure_peaks`' figures."""
    if not peaks:
        return 'convolution peak: not measured (--peak-budget 0): no % peak column'
    parts = []
    for name, peak in peaks.items():
        figure = f'{peak["gflops"]:.0f} GFLOP/s ({peak["shape"]})' if peak.get('gflops') else 'failed'
        parts.append(f'{name} {figure}' + (f', {peak["note"]}' if peak.get('note') else ''))
    return 'best 3x3 convolution, channels-last: ' + '; '.join(parts)


def threads_line(measurements: Sequence[Measurement]) -> str:
    """Which thread counts the workers ran with, per implementation."""
    used: Dict[str, set] = {}
    for item in measurements:
        if item.threads:
            used.setdefault(item.impl, set()).add(item.threads)
    return 'threads used: ' + (
        ', '.join(f'{impl} {"/".join(map(str, sorted(counts)))}' for impl, counts in used.items()) or '-'
    )


def json_safe(value: Any) -> Any:
    """``value`` with infinite floats (PSNR of identical images) written as the string ``'inf'`` (strict JSON)."""
    if isinstance(value, float) and math.isinf(value):
        return 'inf' if value > 0 else '-inf'
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the benchmark; returns the exit status (0 when every check that ran passed)."""
    args = parse_args(argv)
    command = ' '.join([os.path.relpath(__file__)] + list(sys.argv[1:] if argv is None else argv))
    load_before = os.getloadavg()
    os.environ.update(emulation_env(args.emulate_kind))  # before describe_machine: the kind follows the ceiling
    machine = describe_machine(args.threads)
    default_precision = machine['auto_precision']
    precisions = resolve_precisions(args.precisions)
    for line in header_lines(machine) + emulation_lines(args):
        print(line)
    print(f'input: {BENCHMARK_PHOTO}; load average {load_before[0]:.2f}')

    original_python = None
    if not args.skip_original:
        print(f'preparing {ORIGINAL_REQUIREMENT} in {args.original_venv} (first run only) ...')
        try:
            original_python = worker_python(str(ensure_original_python(Path(args.original_venv))))
        except RuntimeError as error:
            print(f'the original package is left out of this run: {error}')

    env = worker_env(args.threads)
    work_dir = Path(tempfile.mkdtemp(prefix='realesrgan-bench-'))
    try:
        try:
            tasks, references = plan_inference(args, work_dir, precisions, original_python)
        except (OSError, ValueError) as error:  # weights that cannot be found or converted
            print(f'error: {error}')
            return 2
        peaks = measure_peaks(args, work_dir, env)
        print(peak_line(peaks))
        runs = [
            (round_index, index, task)
            for round_index in range(args.rounds)
            for index, task in enumerate(tasks)
            if round_index == 0 or task.every_round
        ]
        for round_index, index, task in tqdm(runs, desc='inference', unit='run'):
            item = task.measurement
            if item.error is None:  # a configuration that failed once is not retried
                tqdm.write(f'round {round_index + 1}: {item.model} {size_label(item.size, item.tiled)}: {item.label}')
                task_env = ncnn_pythonpath(args.ncnn_build, env) if task.worker == 'ncnn_worker' else env
                run_task(task, work_dir, task_env, index)
        attach_psnr(tasks, references)
    finally:
        if args.keep_work_dir:
            print(f'worker files kept in {work_dir}')
        else:
            for path in sorted(work_dir.rglob('*'), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
            work_dir.rmdir()

    measurements = [task.measurement for task in tasks]
    kind = machine['cpu_kind']
    checks = evaluate_checks(
        measurements, kind, default_precision, tile_side_of(TILED_CHECK_SIZE, args.tile, args.tile_pad)
    )
    load_after = os.getloadavg()
    print()
    print(f'Command: python {command}')
    for line in header_lines(machine) + emulation_lines(args):
        print(line)
    print(f'input: {BENCHMARK_PHOTO}; {threads_line(measurements)}')
    print(peak_line(peaks))
    peak_gflops = {name: peak.get('gflops') for name, peak in peaks.items()}
    print(format_table(TABLE_HEADERS, measurement_rows(measurements, peak_gflops)))
    print(
        '(size: input side in px; vs original: original time / this time; PSNR: against our fp32 untiled output; '
        '% peak: achieved conv GFLOP/s over the best 3x3 convolution of the same precision)'
    )
    print()
    print(targets_line(kind, default_precision))
    for check in checks:
        print(f'{check.status}: {check.name}: {check.detail}')
    print(
        f'load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1-minute; above ~0.5 before the run '
        'means other work shared the CPUs and timings are noisy)'
    )

    if args.json:
        report = {
            'command': f'python {command}',
            'machine': machine,
            'emulated_kind': args.emulate_kind,
            'default_precision': default_precision,
            'threads': args.threads,
            'load_average_before': load_before,
            'load_average_after': load_after,
            'input': BENCHMARK_PHOTO,
            'conv_peaks': peaks,
            'measurements': [dict(asdict(item), median_s=item.median_s) for item in measurements],
            'checks': [asdict(check) for check in checks],
            'timestamp': time.strftime('%Y-%m-%d %H:%M:%S'),
        }
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w', encoding='utf-8') as handle:
            json.dump(json_safe(report), handle, indent=1)
        print(f'measurements written to {args.json}')
    return 0 if all(check.status != 'FAIL' for check in checks) else 1


if __name__ == '__main__':
    sys.exit(main())
