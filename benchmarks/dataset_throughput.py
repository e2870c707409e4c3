"""Samples per second of ``RealESRGANDataset.__getitem__`` through a DataLoader with 1 and 2 workers.

A temporary disk dataset of ``--num_images`` photographs (scikit-image's bundled ones, resized to
``--image_size``, 480 like the DF2K sub-images) is read with the original training options (hflip, 400x400
crops, all three kernels). Each worker count gets a fresh DataLoader; the first batch (worker start-up) is not
timed. The 1-worker run is the baseline of the printed ratio. Before that, the same items are fetched in the
main process from our dataset and from BasicSR's copy of the original class (``RealESRGANDataset_basicsr``),
alternating, best of ``--rounds``. Timings on a shared machine are noisy.

    python benchmarks/dataset_throughput.py --num_samples 240
"""

import argparse
import copy
import os
import tempfile
import time
from typing import Any, Dict, List, Optional

import cv2
import torch
from skimage import data as skimage_data
from torch.utils.data import DataLoader

from realesrgan.data.realesrgan_dataset import DEFAULT_OPTIONS, RealESRGANDataset

PHOTOS = ('astronaut', 'chelsea', 'coffee', 'rocket')


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


def main(argv: Optional[List[str]] = None) -> None:
    """Command-line entry point.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--num_samples', type=int, default=240, help='Timed samples per run. Default: %(default)s')
    parser.add_argument('--num_images', type=int, default=16, help='Images in the dataset. Default: %(default)s')
    parser.add_argument('--image_size', type=int, default=480, help='Image side. Default: %(default)s')
    parser.add_argument('--batch_size', type=int, default=12, help='Batch size. Default: %(default)s')
    parser.add_argument('--rounds', type=int, default=3, help='In-process comparison rounds. Default: %(default)s')
    args = parser.parse_args(argv)
    from basicsr.utils.registry import DATASET_REGISTRY  # after realesrgan, which makes BasicSR importable

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
    print(
        f'ratio 2 workers / 1 worker: {rates[2] / rates[1]:.2f}x (on {os.cpu_count()} CPU cores; noisy on a '
        'shared machine)'
    )


if __name__ == '__main__':
    main()
