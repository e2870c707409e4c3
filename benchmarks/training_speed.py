"""Training-side speed: dataset items, the ``feed_data`` degradation against the original, demo training iterations.

    python benchmarks/training_speed.py                          # all three parts
    python benchmarks/training_speed.py --only feed_data --skip-original

1. ``dataset``: ``RealESRGANDataset.__getitem__`` in the main process, ours against BasicSR's copy of the original
   class (``RealESRGANDataset_basicsr``), alternating, best of ``--rounds``; then samples per second through a
   DataLoader with 1 and 2 workers (a fresh DataLoader each, the first batch not timed). The data: a temporary disk
   dataset of ``--num_images`` photographs (scikit-image's bundled ones resized to ``--image_size``, 480 like the
   DF2K sub-images), read with the original training options (hflip, 400x400 crops, all three kernels).
2. ``feed_data``: ``RealESRGANModel.feed_data`` of ours and of the original ``realesrgan==0.3.0`` package (its own
   environment, ``benchlib.original_env``), each in a worker process on the same saved batch (``--batch`` items of
   the bundled photographs through our ``RealESRGANDataset``) with the degradation settings of ``--train-options``
   and the same seed; the median of ``--repeats`` calls after a warm-up, ``--rounds`` worker runs each.
3. ``training``: ``--iters`` iterations of the demo RealESRNet training (``options/demo_realesrnet_x4plus.yml``:
   update_learning_rate + feed_data + optimize_parameters, data loading included, the first not timed), ours and
   BasicSR's bundled copy of the original RealESRNetModel made to run on the CPU (its ``.cuda()`` calls become no-ops,
   its ``filter2D`` gets contiguous input), alternating from the same seeds, their LQ batches checked identical.
   Needs the demo dataset: ``python scripts/make_demo_dataset.py --output datasets/demo``.

Timings on a shared machine are noisy; the CPU kind is printed first.
"""

import argparse
import copy
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch
import yaml
from benchlib.machine import describe_machine, header_lines
from benchlib.original_env import ORIGINAL_REQUIREMENT, default_venv_dir, ensure_original_python, worker_python
from benchlib.sample_images import degradation_batch
from benchlib.text_table import format_table
from benchlib.workers import REPO_ROOT, run_job, worker_env
from skimage import data as skimage_data
from torch.utils.data import DataLoader
from tqdm import tqdm

import realesrgan  # noqa: F401  (compatibility layer and registries)

# isort: split
import basicsr.models.realesrnet_model as original_module
from basicsr.data import build_dataset
from basicsr.models import build_model
from basicsr.utils import img_process_util
from basicsr.utils.registry import DATASET_REGISTRY, MODEL_REGISTRY

from realesrgan.data.realesrgan_dataset import DEFAULT_OPTIONS, RealESRGANDataset
from realesrgan.metrics import psnr

PARTS = ('dataset', 'feed_data', 'training')
PHOTOS = ('astronaut', 'chelsea', 'coffee', 'rocket')
DEGRADATION_SEED = 0


def write_dataset(folder: str, num_images: int, size: int) -> None:
    """Write ``num_images`` PNGs of ``size`` x ``size`` made from the bundled photographs.

    Args:
        folder: Output folder.
        num_images: How many images.
        size: Side in pixels.
    """
    for index in range(num_images):
        photo = cv2.cvtColor(getattr(skimage_data, PHOTOS[index % len(PHOTOS)])(), cv2.COLOR_RGB2BGR)
        img = cv2.resize(photo, (size, size), interpolation=cv2.INTER_AREA)
        if index // len(PHOTOS) % 2:
            img = img[:, ::-1]
        cv2.imwrite(os.path.join(folder, f'{index:04d}.png'), img, [cv2.IMWRITE_PNG_COMPRESSION, 3])


def samples_per_second(dataset: RealESRGANDataset, workers: int, num_samples: int, batch_size: int) -> float:
    """Iterate a DataLoader until ``num_samples`` samples (after one untimed batch) and return the rate.

    Args:
        dataset: The dataset.
        workers: DataLoader worker processes.
        num_samples: Samples to time.
        batch_size: Batch size.

    Returns:
        Samples per second.
    """
    sampler = torch.utils.data.RandomSampler(dataset, replacement=True, num_samples=num_samples + batch_size)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers, drop_last=True)
    batches = iter(loader)
    next(batches)  # worker start-up
    start, count = time.perf_counter(), 0
    for batch in batches:
        count += batch['gt'].shape[0]
    return count / (time.perf_counter() - start)


def in_process_ms(dataset_class: Any, opt: Dict[str, Any], num_items: int) -> float:
    """Milliseconds per ``__getitem__`` call in the main process (after one untimed call).

    Args:
        dataset_class: Dataset class to build from ``opt`` (a deep copy: the original class edits its options).
        opt: Dataset options.
        num_items: Items to time.

    Returns:
        Mean milliseconds per item.
    """
    dataset = dataset_class(copy.deepcopy(opt))
    dataset[0]
    start = time.perf_counter()
    for index in range(num_items):
        dataset[index % len(dataset)]
    return (time.perf_counter() - start) / num_items * 1000


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


def load_options(name: str, models_dir: str) -> Dict[str, Any]:
    """An options file of options/, completed as BasicSR's parser would for a single CPU process."""
    with open(os.path.join(REPO_ROOT, 'options', f'{name}.yml')) as file:
        opt = yaml.safe_load(file)
    opt.update(num_gpu=0, is_train=True, dist=False, rank=0, world_size=1, auto_resume=False)
    opt['path'].update(pretrain_network_g=None, models=models_dir, training_states=models_dir)
    for phase, dataset in opt['datasets'].items():
        dataset.update(phase=phase.split('_')[0], scale=opt['scale'])
    return opt


def original_model(opt: Dict[str, Any]) -> Any:
    """BasicSR's copy of the original RealESRNetModel, runnable on the CPU."""
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self
    original_module.filter2D = img_process_util.filter2D
    return MODEL_REGISTRY.get('RealESRNetModel_basicsr')(opt)


def seeded(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def time_alternately(
    calls: Dict[str, Callable[[int], torch.Tensor]], repeats: int, desc: str
) -> Dict[str, List[float]]:
    """Time each call ``repeats`` times (after a warm-up), alternating between them with the same seeds.

    Args:
        calls: Name to a call that takes a seed and returns an LQ batch (checked identical across calls).
        repeats: Timed calls per name.
        desc: Progress-bar label.

    Returns:
        Name to the list of seconds per call.
    """
    times: Dict[str, List[float]] = {name: [] for name in calls}
    for step in tqdm(range(repeats + 1), desc=desc, unit='round'):
        outputs = []
        for name, call in calls.items():
            seeded(step)
            start = time.perf_counter()
            outputs.append(call(step))
            if step:
                times[name].append(time.perf_counter() - start)
        if any(not torch.equal(outputs[0], output) for output in outputs[1:]):
            raise RuntimeError(f'{desc}: the LQ batches of {list(calls)} differ at round {step}')
    return times


def demo_training_timing(args: argparse.Namespace, models_dir: str) -> Dict[str, List[float]]:
    """Seconds per demo training iteration (data loading included), ours and the original."""
    opt = load_options('demo_realesrnet_x4plus', models_dir)
    train_data = dict(opt['datasets']['train'], dataroot_gt=args.dataroot, meta_info=args.meta_info)
    dataset = build_dataset(train_data)
    runs = {}
    for name in ('ours', 'original'):
        run_opt = copy.deepcopy(opt)
        seeded(0)
        model = build_model(run_opt) if name == 'ours' else original_model(run_opt)
        loader = DataLoader(dataset, batch_size=train_data['batch_size_per_gpu'], shuffle=True, drop_last=True)
        runs[name] = {'model': model, 'loader': loader, 'batches': iter(loader)}

    def iteration(run: Dict[str, Any]) -> Callable[[int], torch.Tensor]:
        def call(step: int) -> torch.Tensor:
            try:
                batch = next(run['batches'])
            except StopIteration:
                run['batches'] = iter(run['loader'])
                batch = next(run['batches'])
            run['model'].update_learning_rate(step + 1)
            run['model'].feed_data(batch)
            run['model'].optimize_parameters(step + 1)
            return run['model'].lq

        return call

    return time_alternately({name: iteration(run) for name, run in runs.items()}, args.iters, 'demo training')


def time_feed_data(args: argparse.Namespace, work_dir: Path) -> Dict[str, Any]:
    """Time ``feed_data`` of our RealESRGANModel and of the original's, each in its own worker, on the same batch."""
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
    np.savez(batch_path, **degradation_batch(args.batch, str(gt_folder), dataset_opt, DEGRADATION_SEED))
    job = dict(
        task='degradation',
        opt=feed_data_options(train_config, args.gt_size),
        batch=str(batch_path),
        seed=DEGRADATION_SEED,
        repeats=args.repeats,
        threads=args.threads,
    )
    pythons = {'ours': [sys.executable]}
    if not args.skip_original:
        print(f'preparing {ORIGINAL_REQUIREMENT} in {args.original_venv} (first run only) ...')
        try:
            pythons['original'] = worker_python(str(ensure_original_python(Path(args.original_venv))))
        except RuntimeError as error:
            print(f'the original package is left out of this run: {error}')
    workers = {'ours': 'ours_worker', 'original': 'original_worker'}
    results: Dict[str, Dict[str, Any]] = {impl: {'times': [], 'peak_rss_mib': None, 'error': None} for impl in pythons}
    env = worker_env(args.threads)
    for number in tqdm(range(args.rounds * len(pythons)), desc='feed_data', unit='run'):
        impl = list(pythons)[number % len(pythons)]
        if results[impl]['error'] is None:
            output = str(work_dir / f'degraded_{impl}.npy')
            run = run_job(pythons[impl], workers[impl], dict(job, output=output), work_dir / f'job_{number}.json', env)
            if run.result is None:
                results[impl]['error'] = run.error
            else:
                results[impl]['times'] += run.result['times']
                results[impl]['peak_rss_mib'] = max(results[impl]['peak_rss_mib'] or 0, run.result['peak_rss_mib'])
    summary: Dict[str, Any] = {'batch': args.batch, 'gt_size': args.gt_size, 'results': results}
    ours, original = results['ours'], results.get('original')
    if original and ours['times'] and original['times']:
        summary['speedup_vs_original'] = statistics.median(original['times']) / statistics.median(ours['times'])
        lq_ours, lq_original = np.load(work_dir / 'degraded_ours.npy'), np.load(work_dir / 'degraded_original.npy')
        if lq_ours.shape == lq_original.shape:
            summary['lq_psnr_vs_original'] = psnr(to_uint8(lq_original), to_uint8(lq_ours))
    return summary


def to_uint8(img: np.ndarray) -> np.ndarray:
    """A float image in [0, 1] rounded to 8-bit levels."""
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def feed_data_lines(summary: Dict[str, Any]) -> List[str]:
    """Printable lines of the ``feed_data`` timing."""
    rows = []
    for impl, item in summary['results'].items():
        median = statistics.median(item['times']) if item['times'] and not item['error'] else None
        peak = f'{item["peak_rss_mib"]:.0f}' if item['peak_rss_mib'] else '-'
        rows.append([impl, f'{median:.3f}' if median else f'failed: {item["error"]}', peak])
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


def time_dataset(args: argparse.Namespace) -> None:
    """Part 1: ``__getitem__`` in process, ours against BasicSR's copy; then DataLoader samples/s, 1 and 2 workers."""
    rates: Dict[int, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        write_dataset(folder, args.num_images, args.image_size)
        with open(os.path.join(folder, 'meta_info.txt'), 'w') as meta_info:
            meta_info.writelines(f'{index:04d}.png\n' for index in range(args.num_images))
        opt = dict(DEFAULT_OPTIONS, dataroot_gt=folder, meta_info=meta_info.name, io_backend={'type': 'disk'})
        timings: Dict[str, List[float]] = {'ours': [], 'original': []}
        for _ in range(args.rounds):
            timings['ours'].append(in_process_ms(RealESRGANDataset, opt, args.num_samples // 2))
            timings['original'].append(
                in_process_ms(DATASET_REGISTRY.get('RealESRGANDataset_basicsr'), opt, args.num_samples // 2)
            )
        ours, original = min(timings['ours']), min(timings['original'])
        print(
            f'in-process __getitem__: ours {ours:.1f} ms, original (BasicSR copy) {original:.1f} ms, '
            f'speed-up {original / ours:.2f}x (best of {args.rounds})'
        )
        dataset = RealESRGANDataset(opt)
        for workers in (1, 2):
            rates[workers] = samples_per_second(dataset, workers, args.num_samples, args.batch_size)
            print(
                f'{workers} worker(s): {rates[workers]:.1f} samples/s '
                f'({args.num_samples} samples, 400x400 crops of {args.image_size}px PNGs, batch {args.batch_size})'
            )
    print(f'ratio 2 workers / 1 worker: {rates[2] / rates[1]:.2f}x (on {os.cpu_count()} CPU cores)')


def time_training(args: argparse.Namespace) -> None:
    """Part 3: demo training iterations per second, ours and BasicSR's copy of the original."""
    with tempfile.TemporaryDirectory() as models_dir:
        train = demo_training_timing(args, models_dir)
    for name in ('ours', 'original'):
        median = statistics.median(train[name])
        print(
            f'RealESRNet demo training ({name}): {1 / median:.2f} it/s (median iteration {median:.3f} s, '
            f'{len(train[name])} iterations)'
        )
    print(
        f'  ratio ours / original (it/s): {statistics.median(train["original"]) / statistics.median(train["ours"]):.3f}'
    )


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options (see ``--help``)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument('--only', nargs='+', choices=PARTS, default=list(PARTS), help='parts to run')
    parser.add_argument('--rounds', type=int, default=3, help='dataset: in-process rounds; feed_data: worker runs')
    parser.add_argument('--threads', type=int, default=None, help='torch threads of the feed_data workers')
    group = parser.add_argument_group('dataset')
    group.add_argument('--num_samples', type=int, default=240, help='timed samples per DataLoader run')
    group.add_argument('--num_images', type=int, default=16, help='images in the dataset')
    group.add_argument('--image_size', type=int, default=480, help='image side')
    group.add_argument('--batch_size', type=int, default=12, help='DataLoader batch size')
    group = parser.add_argument_group('feed_data')
    group.add_argument('--batch', type=int, default=4, help='batch size of the feed_data timing')
    group.add_argument('--gt-size', type=int, default=256, help='gt_size of the feed_data timing')
    group.add_argument('--repeats', type=int, default=3, help='timed feed_data calls per worker run')
    group.add_argument(
        '--train-options',
        default=str(REPO_ROOT / 'options' / 'train_realesrgan_x4plus.yml'),
        help='training config whose degradation settings feed_data uses',
    )
    group.add_argument('--skip-original', action='store_true', help='time ours only')
    group.add_argument(
        '--original-venv', default=str(default_venv_dir()), help=f'environment of {ORIGINAL_REQUIREMENT}'
    )
    group = parser.add_argument_group('training')
    group.add_argument('--dataroot', default=str(REPO_ROOT / 'datasets' / 'demo'), help='demo dataset folder')
    group.add_argument('--iters', type=int, default=20, help='timed demo training iterations')
    args = parser.parse_args(argv)
    for name in ('rounds', 'num_samples', 'num_images', 'image_size', 'batch_size', 'batch', 'gt_size', 'repeats'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be at least 1, got {getattr(args, name)}')
    args.meta_info = os.path.join(args.dataroot, 'meta_info', 'meta_info_demo.txt')
    if 'training' in args.only and not os.path.isfile(args.meta_info):
        parser.error(
            f'no demo dataset at {args.dataroot}: run python scripts/make_demo_dataset.py --output {args.dataroot} '
            'first (or leave the training part out: --only dataset feed_data)'
        )
    if 'feed_data' in args.only and not os.path.isfile(args.train_options):
        parser.error(f'training config {args.train_options} not found (give one with --train-options)')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the requested parts and print their figures."""
    args = parse_args(argv)
    for line in header_lines(describe_machine(args.threads)):
        print(line)
    if 'dataset' in args.only:
        time_dataset(args)
    if 'feed_data' in args.only:
        with tempfile.TemporaryDirectory(prefix='realesrgan-feed-data-') as work_dir:
            print('\n'.join(feed_data_lines(time_feed_data(args, Path(work_dir)))))
    if 'training' in args.only:
        time_training(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
