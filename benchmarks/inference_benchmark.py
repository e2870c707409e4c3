"""Benchmark this project's Real-ESRGAN on the CPU against the original package and the ncnn runtime.

For every model and image size, each configuration runs in a fresh worker process (so that peak-memory figures do
not mix): our ``RealESRGANer.enhance`` in fp32 and in the default CPU precision, the original ``realesrgan==0.3.0``
package's ``RealESRGANer`` (fp32, from its own virtual environment, created on the first run), and the ncnn
runtime on the official ncnn files of the same model (fp32 and its reduced-precision storage modes). Every worker
runs its call once to warm up, then ``--repeats`` times; the table shows the median. With ``--rounds N`` every
worker is started N times, round-robin over all configurations, so that slow drifts of the machine's speed (shared
hosts) fall on every implementation alike. All implementations upscale
the same image with the same weights (``realesrgan.zoo.resolve_model_path``) and the same tile settings (ncnn always
runs untiled, so it is left out of tiled sizes); PSNR is measured against our fp32 untiled output of the same image.
The model's convolution FLOPs are counted from its layers and compared with the machine's measured matmul peak.
Then the training-batch degradation (``RealESRGANModel.feed_data``) is timed against the original's.

The header names the CPU (model, kind, AVX-512 / AVX512-BF16 / AMX-BF16 / AVX512-FP16), torch, oneDNN and what
``--precision auto`` picks there; the table is followed by the checks of that CPU kind (``report.targets_for``)
as PASS / FAIL lines. The original runs in its own environment in isolated mode (``original_env.py``).

Example (the full run; --sizes 64 256 --repeats 1 finishes in about 20 minutes on 2 shared cores):

    python benchmarks/inference_benchmark.py --rounds 2 --repeats 1 --json results/benchmark.json
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import yaml
from machine import describe_machine, header_lines
from measure import THREAD_ENV_VARS
from metrics import conv_flops_per_input_pixel, model_gflops
from original_env import ORIGINAL_REQUIREMENT, default_venv_dir, ensure_original_python, isolated
from report import (
    TABLE_HEADERS,
    TILED_CHECK_SIZE,
    Measurement,
    evaluate_checks,
    format_table,
    measurement_rows,
    size_label,
    targets_line,
)
from sample_data import benchmark_image, degradation_batch
from tqdm import tqdm

# the repository this script belongs to, not another checkout installed in the environment
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import realesrgan  # noqa: E402,F401 (first: makes BasicSR importable on current torchvision)
from realesrgan.inference.tiling import DEFAULT_TILE_BLEND, plan_tiles  # noqa: E402
from realesrgan.metrics import psnr  # noqa: E402
from realesrgan.zoo import get_model_spec, resolve_model_path  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_MODELS = ('RealESRGAN_x4plus', 'realesr-animevideov3')
DEFAULT_SIZES = ('64', '128', '256', '512t')
DEFAULT_NCNN_MODES = ('fp32', 'bf16')
# the precisions our CPU runs compute in (fp16 never runs on a CPU, and its matmul alone took minutes there)
PEAK_PRECISIONS = ('fp32', 'bf16')
NCNN_MODES = ('fp32', 'fp16', 'bf16')
DEGRADATION_SEED = 0


@dataclass
class Task:
    """One worker run: which script, with which Python, on which job, filling which measurement."""

    measurement: Any
    worker: str
    python: Sequence[str]  # the interpreter command (the original's: isolated mode, see original_env.isolated)
    job: Dict[str, Any]
    every_round: bool = True


@dataclass
class DegradationMeasurement:
    """``feed_data`` timing of one implementation (``times`` after one warm-up call)."""

    impl: str
    times: List[float]
    peak_rss_mib: Optional[float] = None
    error: Optional[str] = None


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
    parser.add_argument('--threads', type=int, default=os.cpu_count() or 1, help='CPU threads of every runtime')
    parser.add_argument('--tile', type=int, default=256, help='tile size of the tiled sizes')
    parser.add_argument('--tile-pad', type=int, default=10, help='tile padding (RealESRGANer tile_pad)')
    parser.add_argument('--pre-pad', type=int, default=0, help='RealESRGANer pre_pad (the CLI default is 0)')
    parser.add_argument('--skip-original', action='store_true', help='do not run the original package')
    parser.add_argument('--skip-ncnn', action='store_true', help='do not run the ncnn runtime')
    parser.add_argument('--skip-degradation', action='store_true', help='do not time the feed_data degradation')
    parser.add_argument(
        '--ncnn-modes',
        nargs='+',
        choices=NCNN_MODES,
        default=list(DEFAULT_NCNN_MODES),
        help='ncnn storage modes (fp16 storage gave output bit-identical to fp32 on an x86 CPU: no effect there)',
    )
    parser.add_argument('--peak-matmul-size', type=int, default=4096, help='side of the matmul measuring the peak')
    parser.add_argument('--degradation-batch', type=int, default=4, help='batch size of the feed_data timing')
    parser.add_argument('--gt-size', type=int, default=256, help='gt_size of the feed_data timing')
    parser.add_argument(
        '--train-options',
        default=str(REPO_ROOT / 'options' / 'train_realesrgan_x4plus.yml'),
        help='training config whose degradation settings feed_data uses',
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
    args.sizes = [parse_size(size) if isinstance(size, str) else size for size in args.sizes]  # the defaults
    for name in ('repeats', 'rounds', 'threads', 'tile', 'peak_matmul_size', 'degradation_batch', 'gt_size'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be at least 1, got {getattr(args, name)}')
    for name in ('tile_pad', 'pre_pad'):
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


def worker_env(threads: int) -> Dict[str, str]:
    """Environment of the workers: thread counts pinned, no inherited PYTHONPATH (keeps the two packages apart)."""
    env = {key: value for key, value in os.environ.items() if key != 'PYTHONPATH'}
    env.update({name: str(threads) for name in THREAD_ENV_VARS})
    return env


def run_task(task: Task, work_dir: Path, env: Dict[str, str], index: int) -> Dict[str, Any]:
    """Run one worker; add its times to its measurement and raise the peak memory, or set its error. Never raises.

    Args:
        task: The worker run.
        work_dir: Folder for the job and result files.
        env: Environment of the worker.
        index: Unique number of the task (file names).

    Returns:
        The worker's result dict (empty when it failed).
    """
    job = dict(task.job, result=str(work_dir / f'result_{index}.json'))
    job_path = work_dir / f'job_{index}.json'
    job_path.write_text(json.dumps(job))
    completed = subprocess.run(
        [*task.python, str(BENCH_DIR / task.worker), str(job_path)],
        cwd=work_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    result_path = Path(job['result'])
    if completed.returncode != 0 or not result_path.exists():
        lines = (completed.stderr or completed.stdout or 'no output').strip().splitlines()
        task.measurement.error = f'exit status {completed.returncode}: {lines[-1] if lines else ""}'
        log = work_dir / f'stderr_{index}.txt'
        log.write_text(completed.stderr)
        tqdm.write(
            f'FAILED {task.worker} {task.job.get("task")}: {task.measurement.error} (full log: {log}, kept '
            'with --keep-work-dir)'
        )
        return {}
    result = json.loads(result_path.read_text())
    task.measurement.times = list(task.measurement.times) + result.get('times', [])
    task.measurement.peak_rss_mib = max(task.measurement.peak_rss_mib or 0.0, result['peak_rss_mib'])
    return result


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
        original_python: Interpreter command of the original's environment, None to leave it out.

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
                'run_ours.py',
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
                    'run_ours.py',
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
                'run_original.py',
                original_python,
                dict(ours, arch=spec.network.arch, arch_kwargs=dict(spec.network.kwargs), netscale=spec.netscale),
                tiled,
            )
        )
    if not args.skip_ncnn and not tiled and spec.ncnn_name:
        configs.extend(
            Config('ncnn', mode, 'ncnn_runner.py', [sys.executable], dict(mode=mode), tiled) for mode in args.ncnn_modes
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
                np.save(input_path, benchmark_image(size))
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


def feed_data_options(train_config: Dict[str, Any], gt_size: int) -> Dict[str, Any]:
    """A RealESRGANModel option dict for timing ``feed_data`` on the CPU.

    The degradation settings (every top-level key of the training config) are kept; the networks are replaced by
    tiny ones and the losses reduced to L1 + GAN, since only the data synthesis is timed.

    Args:
        train_config: A parsed training config (``options/train_realesrgan_x4plus.yml``).
        gt_size: Ground-truth patch size.

    Returns:
        The option dict, the same for our model and the original's.
    """
    sections = ('datasets', 'path', 'train', 'val', 'logger', 'dist_params', 'network_g', 'network_d')
    opt = {key: value for key, value in train_config.items() if key not in sections}
    scale = int(opt.get('scale', 4))
    adam = {'type': 'Adam', 'lr': 1e-4, 'weight_decay': 0, 'betas': [0.9, 0.99]}
    opt.update(
        {
            'name': 'benchmark_feed_data',
            'model_type': 'RealESRGANModel',
            'num_gpu': 0,
            'is_train': True,
            'dist': False,
            'rank': 0,
            'world_size': 1,
            'gt_size': gt_size,
            'network_g': {
                'type': 'SRVGGNetCompact',
                'num_in_ch': 3,
                'num_out_ch': 3,
                'num_feat': 4,
                'num_conv': 1,
                'upscale': scale,
                'act_type': 'prelu',
            },
            'network_d': {'type': 'UNetDiscriminatorSN', 'num_in_ch': 3, 'num_feat': 4, 'skip_connection': True},
            'path': {
                'pretrain_network_g': None,
                'strict_load_g': True,
                'resume_state': None,
                'pretrain_network_d': None,
            },
            'train': {
                'ema_decay': 0,
                'optim_g': dict(adam),
                'optim_d': dict(adam),
                'total_iter': 1,
                'warmup_iter': -1,
                'scheduler': {'type': 'MultiStepLR', 'milestones': [1], 'gamma': 0.5},
                'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0, 'reduction': 'mean'},
                'gan_opt': {
                    'type': 'GANLoss',
                    'gan_type': 'vanilla',
                    'real_label_val': 1.0,
                    'fake_label_val': 0.0,
                    'loss_weight': 0.1,
                },
                'net_d_iters': 1,
                'net_d_init_iters': 0,
            },
        }
    )
    return opt


def run_degradation(
    args: argparse.Namespace, work_dir: Path, env: Dict[str, str], original_python: Optional[Sequence[str]]
) -> Dict[str, Any]:
    """Time ``feed_data`` of our RealESRGANModel and of the original's on the same batch and settings."""
    if not os.path.isfile(args.train_options):
        return {'error': f'training config {args.train_options} not found (give one with --train-options)'}
    with open(args.train_options, encoding='utf-8') as handle:
        train_config = yaml.safe_load(handle)
    dataset_opt = {
        key: value
        for key, value in train_config.get('datasets', {}).get('train', {}).items()
        if key not in ('name', 'type', 'dataroot_gt', 'meta_info', 'io_backend')
    }
    gt_folder = work_dir / 'degradation_gt'
    gt_folder.mkdir(exist_ok=True)
    batch_path = work_dir / 'degradation_batch.npz'
    np.savez(batch_path, **degradation_batch(args.degradation_batch, str(gt_folder), dataset_opt, DEGRADATION_SEED))
    opt = feed_data_options(train_config, args.gt_size)

    implementations = [('ours', 'run_ours.py', [sys.executable])]
    if original_python:
        implementations.append(('original', 'run_original.py', original_python))
    results = {impl: DegradationMeasurement(impl=impl, times=[]) for impl, _, _ in implementations}
    outputs = {impl: str(work_dir / f'degraded_{impl}.npy') for impl, _, _ in implementations}
    runs = [
        (number, impl, worker, python)
        for _ in range(args.rounds)
        for number, (impl, worker, python) in enumerate(implementations)
    ]
    for number, impl, worker, python in tqdm(runs, desc='feed_data', unit='run'):
        job = dict(
            task='degradation',
            opt=opt,
            batch=str(batch_path),
            output=outputs[impl],
            seed=DEGRADATION_SEED,
            repeats=args.repeats,
            threads=args.threads,
        )
        if results[impl].error is None:
            run_task(Task(results[impl], worker, python, job), work_dir, env, index=1000 + number)

    summary: Dict[str, Any] = {
        'batch': args.degradation_batch,
        'gt_size': args.gt_size,
        'results': {impl: asdict(item) for impl, item in results.items()},
    }
    ours, original = results.get('ours'), results.get('original')
    if ours and original and ours.times and original.times and not (ours.error or original.error):
        summary['speedup_vs_original'] = float(np.median(original.times) / np.median(ours.times))
        lq_ours, lq_original = np.load(outputs['ours']), np.load(outputs['original'])
        if lq_ours.shape == lq_original.shape:
            summary['lq_psnr_vs_original'] = psnr(to_uint8(lq_original), to_uint8(lq_ours))
    return summary


def to_uint8(img: np.ndarray) -> np.ndarray:
    """A float image in [0, 1] rounded to 8-bit levels."""
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def degradation_lines(summary: Dict[str, Any]) -> List[str]:
    """Printable lines of the degradation timing."""
    if 'error' in summary:
        return [f'feed_data: skipped ({summary["error"]})']
    rows = []
    for impl, item in summary['results'].items():
        median = float(np.median(item['times'])) if item['times'] and not item['error'] else None
        rows.append(
            [
                impl,
                f'{median:.3f}' if median else 'failed',
                f'{item["peak_rss_mib"]:.0f}' if item['peak_rss_mib'] else '-',
            ]
        )
    lines = [
        f'feed_data (RealESRGANModel, batch {summary["batch"]}, gt_size {summary["gt_size"]}, CPU):',
        format_table(('impl', 'median s', 'peak MiB'), rows),
    ]
    if 'speedup_vs_original' in summary:
        lines.append(f'feed_data speed-up vs original: {summary["speedup_vs_original"]:.2f}x')
    if 'lq_psnr_vs_original' in summary:
        value = summary['lq_psnr_vs_original']
        lines.append(
            f"LQ from the same batch and seed vs the original's: "
            f'{"identical" if math.isinf(value) else f"{value:.1f} dB"} (equal only when both implementations '
            'draw their random numbers in the same order)'
        )
    return lines


def measure_peaks(args: argparse.Namespace, work_dir: Path, env: Dict[str, str]) -> Dict[str, Optional[float]]:
    """Measured matmul peak GFLOP/s per precision (None where it failed)."""
    holder = Measurement(model='-', size=0, tiled=False, impl='peak', precision='-')
    job = dict(
        task='peak',
        precisions=list(PEAK_PRECISIONS),
        matmul_size=args.peak_matmul_size,
        repeats=3,
        threads=args.threads,
    )
    result = run_task(Task(holder, 'peak_flops.py', [sys.executable], job), work_dir, env, index=999)
    return {name: result.get('peak_gflops', {}).get(name) for name in PEAK_PRECISIONS}


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
    machine = describe_machine(args.threads)
    default_precision = machine['auto_precision']
    precisions = resolve_precisions(args.precisions)
    for line in header_lines(machine):
        print(line)
    print(f'load average {load_before[0]:.2f}')

    original_python = None
    if not args.skip_original:
        print(f'preparing {ORIGINAL_REQUIREMENT} in {args.original_venv} (first run only) ...')
        try:
            original_python = isolated(str(ensure_original_python(Path(args.original_venv))))
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
        print(
            'measured matmul peak GFLOP/s: '
            + ', '.join(f'{name} {value:.0f}' if value else f'{name} -' for name, value in peaks.items())
        )
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
                run_task(task, work_dir, env, index)
        attach_psnr(tasks, references)
        degradation = (
            {'error': '--skip-degradation'}
            if args.skip_degradation
            else run_degradation(args, work_dir, env, original_python)
        )
    finally:
        if args.keep_work_dir:
            print(f'worker files kept in {work_dir}')
        else:
            for path in sorted(work_dir.rglob('*'), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
            work_dir.rmdir()

    measurements = [task.measurement for task in tasks]
    checks = evaluate_checks(measurements, default_precision, tile_side_of(TILED_CHECK_SIZE, args.tile, args.tile_pad))
    load_after = os.getloadavg()
    print()
    print(f'Command: python {command}')
    for line in header_lines(machine):
        print(line)
    print(format_table(TABLE_HEADERS, measurement_rows(measurements, peaks)))
    print(
        '(size: input side in px; vs original: original time / this time; PSNR: against our fp32 untiled output; '
        '% peak: achieved conv GFLOP/s over the measured matmul peak of the same precision)'
    )
    print()
    for line in degradation_lines(degradation):
        print(line)
    print()
    print(targets_line(machine['cpu_kind'], default_precision))
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
            'default_precision': default_precision,
            'threads': args.threads,
            'load_average_before': load_before,
            'load_average_after': load_after,
            'peak_gflops': peaks,
            'measurements': [dict(asdict(item), median_s=item.median_s) for item in measurements],
            'degradation': degradation,
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
