"""Write a tiny training/validation dataset from scikit-image's bundled sample photos (no network).

It is meant for demo configs and smoke tests of the training pipeline, not for real training. Layout of
``--output`` (default ``datasets/demo``)::

    datasets/demo/
        hr/demo_00.png ... demo_07.png      8 HR (ground-truth) crops, 128 to 192 px a side, multiples of 4
        lq/demo_00.png ... demo_07.png      the same crops bicubic-downscaled x4 (MATLAB-style, antialiased)
        meta_info/meta_info_demo.txt        one line per HR image, relative to the output folder:
                                            ``hr/demo_00.png``   (RealESRGANDataset: dataroot_gt = datasets/demo)
        meta_info/meta_info_demo_pair.txt   ``hr/demo_00.png, lq/demo_00.png`` (RealESRGANPairedDataset:
                                            dataroot_gt = dataroot_lq = datasets/demo)
        val/gt/val_00.png ... val_03.png    4 validation GT crops (128x128), from other parts of the photos
        val/lq/val_00.png ... val_03.png    their bicubic x4 downscales (32x32), same file names

The images come from ``skimage.data`` (astronaut, chelsea, coffee, rocket), cropped at fixed places, so every
run writes the same files; running it again on an earlier demo dataset rewrites it. Usage::

    python scripts/make_demo_dataset.py --output datasets/demo
"""

import argparse
import os
import shutil
import sys
import tempfile
from typing import Dict, List, Optional, Tuple

import numpy as np
from tqdm import tqdm

from realesrgan.fileio.images import write_image

SCALE = 4
# (photo, top, left, height, width): training crops, all sides multiples of SCALE
TRAIN_CROPS: List[Tuple[str, int, int, int, int]] = [
    ('astronaut', 40, 160, 192, 192),
    ('astronaut', 300, 20, 160, 192),
    ('chelsea', 60, 120, 192, 176),
    ('chelsea', 100, 260, 160, 160),
    ('coffee', 40, 60, 176, 192),
    ('coffee', 200, 380, 192, 160),
    ('rocket', 80, 200, 192, 128),
    ('rocket', 220, 420, 128, 192),
]
# validation crops, away from the training ones
VAL_CROPS: List[Tuple[str, int, int, int, int]] = [
    ('astronaut', 360, 360, 128, 128),
    ('chelsea', 150, 20, 128, 128),
    ('coffee', 250, 100, 128, 128),
    ('rocket', 10, 10, 128, 128),
]


def load_photos() -> Dict[str, np.ndarray]:
    """Load the scikit-image sample photos used for the crops, as BGR uint8.

    Returns:
        Photo name to BGR image.
    """
    try:
        from skimage import data as skimage_data
    except ImportError as error:
        raise SystemExit('scikit-image is needed for the demo photos: pip install scikit-image') from error
    names = sorted({crop[0] for crop in TRAIN_CROPS + VAL_CROPS})
    return {name: np.ascontiguousarray(getattr(skimage_data, name)()[:, :, ::-1]) for name in names}


def downscale_bicubic(img: np.ndarray, scale: int) -> np.ndarray:
    """MATLAB-style antialiased bicubic downscale, as used for the DIV2K LR sets.

    Args:
        img: HxWx3 uint8 image, sides divisible by ``scale``.
        scale: Downscale factor.

    Returns:
        (H/scale)x(W/scale)x3 uint8 image.
    """
    from basicsr.utils.matlab_functions import imresize  # after realesrgan, which makes BasicSR importable

    small = imresize(img.astype(np.float32) / 255.0, 1 / scale)
    return np.clip(np.round(small * 255.0), 0, 255).astype(np.uint8)


def write_pairs(
    photos: Dict[str, np.ndarray], crops: List[Tuple[str, int, int, int, int]], prefix: str, gt_dir: str, lq_dir: str
) -> List[str]:
    """Crop, downscale and write GT/LQ pairs.

    Args:
        photos: Photo name to BGR image.
        crops: (photo, top, left, height, width) per pair.
        prefix: File-name prefix, e.g. ``'demo'`` gives ``demo_00.png``.
        gt_dir: Folder for the crops.
        lq_dir: Folder for the downscaled crops.

    Returns:
        The written file names.
    """
    names = []
    for index, (photo, top, left, height, width) in enumerate(tqdm(crops, desc=f'{prefix} images', unit='image')):
        gt = photos[photo][top : top + height, left : left + width]
        if gt.shape[:2] != (height, width):
            raise ValueError(f'crop {index} ({photo}, {top}, {left}, {height}, {width}) leaves the photo')
        name = f'{prefix}_{index:02d}.png'
        write_image(os.path.join(gt_dir, name), gt)
        write_image(os.path.join(lq_dir, name), downscale_bicubic(gt, SCALE))
        names.append(name)
    return names


def build_dataset(root: str) -> None:
    """Write the whole demo dataset into ``root`` (see the module docstring for the layout).

    Args:
        root: Output folder (created).
    """
    photos = load_photos()
    train_names = write_pairs(photos, TRAIN_CROPS, 'demo', os.path.join(root, 'hr'), os.path.join(root, 'lq'))
    write_pairs(photos, VAL_CROPS, 'val', os.path.join(root, 'val', 'gt'), os.path.join(root, 'val', 'lq'))
    os.makedirs(os.path.join(root, 'meta_info'), exist_ok=True)
    with open(os.path.join(root, 'meta_info', 'meta_info_demo.txt'), 'w') as meta:
        meta.writelines(f'hr/{name}\n' for name in train_names)
    with open(os.path.join(root, 'meta_info', 'meta_info_demo_pair.txt'), 'w') as meta:
        meta.writelines(f'hr/{name}, lq/{name}\n' for name in train_names)


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--output', default='datasets/demo', help='Output folder. Default: datasets/demo')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='Replace the output folder even if it holds something else than an earlier demo dataset',
    )
    args = parser.parse_args(argv)

    output = os.path.abspath(args.output)
    is_demo = os.path.isfile(os.path.join(output, 'meta_info', 'meta_info_demo.txt'))
    if os.path.exists(output) and os.listdir(output) and not (is_demo or args.overwrite):
        parser.error(
            f'output folder "{args.output}" already exists, is not empty and holds no demo dataset; '
            'pass --overwrite to replace it'
        )
    parent = os.path.dirname(output)
    os.makedirs(parent, exist_ok=True)
    # build beside the target and swap at the end, so that a failure never leaves a half-written dataset
    staging = tempfile.mkdtemp(prefix='.demo_dataset_', dir=parent)
    os.chmod(staging, 0o755)
    try:
        build_dataset(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if os.path.exists(output):
        shutil.rmtree(output)
    os.replace(staging, output)
    print(
        f'Demo dataset written to {args.output}: {len(TRAIN_CROPS)} training pairs, {len(VAL_CROPS)} validation pairs.'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
