"""Speed of the training side: ``feed_data`` per batch, and RealESRNet demo training iterations per second.

1. ``feed_data``: batches of ``--batch_size`` RealESRGANDataset items (400x400 GT crops of the demo photos and
   the official kernels) go through RealESRNetModel.feed_data with the official x4plus degradation settings
   (gt_size 256); median of ``--repeats`` calls after one warm-up.
2. Demo training: the dataset, model and settings of ``options/demo_realesrnet_x4plus.yml``, ``--iters``
   iterations of update_learning_rate + feed_data + optimize_parameters (data loading included, the first
   iteration not timed); iterations per second from the median iteration time.

Both are measured for our models and, as the baseline in the same process, for BasicSR's bundled copy of the
original RealESRNetModel, made to run on the CPU (its ``.cuda()`` calls become no-ops, its ``filter2D`` gets
contiguous input). The two alternate call by call from the same random seeds, and their LQ batches are checked
to be identical. Timings on a shared machine are noisy.

    python scripts/make_demo_dataset.py --output datasets/demo
    python benchmarks/feed_data_timing.py
"""

import argparse
import copy
import os
import random
import statistics
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List

import numpy as np
import torch
import yaml
from tqdm import tqdm

import realesrgan  # noqa: F401  (compatibility layer and registries)

# isort: split
import basicsr.models.realesrnet_model as original_module
from basicsr.data import build_dataset
from basicsr.models import build_model
from basicsr.utils import img_process_util
from basicsr.utils.registry import MODEL_REGISTRY
from torch.utils.data import DataLoader

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))


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


def feed_data_timing(args: argparse.Namespace, models_dir: str) -> Dict[str, List[float]]:
    """Seconds per feed_data call, ours and the original, with the official x4plus degradation settings."""
    opt = load_options('train_realesrnet_x4plus', models_dir)
    opt['network_g'].update(num_block=1)  # feed_data does not touch the network
    train_data = dict(opt['datasets']['train'], dataroot_gt=args.dataroot, meta_info=args.meta_info)
    loader = DataLoader(build_dataset(train_data), batch_size=args.batch_size, shuffle=True, drop_last=True)
    batches = []
    while len(batches) < args.repeats + 1:
        batches.extend(loader)
    models = {'ours': build_model(copy.deepcopy(opt)), 'original': original_model(copy.deepcopy(opt))}

    def feed(model: Any) -> Callable[[int], torch.Tensor]:
        def call(step: int) -> torch.Tensor:
            model.feed_data(batches[step])
            return model.lq

        return call

    return time_alternately({name: feed(model) for name, model in models.items()}, args.repeats, 'feed_data')


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


def main() -> int:
    """Command-line entry point; prints the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dataroot', default=os.path.join(REPO_ROOT, 'datasets', 'demo'), help='Demo dataset folder')
    parser.add_argument('--batch_size', type=int, default=4, help='feed_data batch size. Default: 4')
    parser.add_argument('--repeats', type=int, default=20, help='Timed feed_data calls. Default: 20')
    parser.add_argument('--iters', type=int, default=20, help='Timed demo training iterations. Default: 20')
    args = parser.parse_args()
    args.meta_info = os.path.join(args.dataroot, 'meta_info', 'meta_info_demo.txt')
    if not os.path.isfile(args.meta_info):
        parser.error(
            f'no demo dataset at {args.dataroot}: run python scripts/make_demo_dataset.py --output '
            f'{args.dataroot} first'
        )

    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, CPU; timings on a shared machine are noisy')
    with tempfile.TemporaryDirectory() as models_dir:
        feed = feed_data_timing(args, models_dir)
        train = demo_training_timing(args, models_dir)
    for name in ('ours', 'original'):
        print(
            f'feed_data, batch {args.batch_size}, 400x400 GT -> gt_size 256 ({name}): median '
            f'{statistics.median(feed[name]):.3f} s of {len(feed[name])}'
        )
    print(f'  ratio ours / original: {statistics.median(feed["ours"]) / statistics.median(feed["original"]):.3f}')
    for name in ('ours', 'original'):
        median = statistics.median(train[name])
        print(
            f'RealESRNet demo training ({name}): {1 / median:.2f} it/s (median iteration {median:.3f} s, '
            f'{len(train[name])} iterations)'
        )
    print(
        f'  ratio ours / original (it/s): {statistics.median(train["original"]) / statistics.median(train["ours"]):.3f}'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
