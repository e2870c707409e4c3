"""Crop large images into overlapping square sub-images, to speed up IO and processing during training.

Each image ``name.ext`` of ``--input`` becomes ``name_s001.ext``, ``name_s002.ext``, ... in ``--output``:
``crop_size`` squares taken every ``step`` pixels along each axis, row by row. When the strip left over at the
bottom/right edge is wider than ``thresh_size`` pixels, one more crop flush with that edge covers it. Images
smaller than ``crop_size`` on a side are skipped and reported. Several processes share the work.

Example (the DF2K multiscale preparation of Real-ESRGAN)::

    python scripts/extract_subimages.py --input datasets/DF2K/DF2K_multiscale \\
        --output datasets/DF2K/DF2K_multiscale_sub --crop_size 400 --step 200
"""

import argparse
import os
import sys
from functools import partial
from multiprocessing import Pool
from typing import List, Optional, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from realesrgan.fileio.images import list_images, read_image, write_image


def crop_starts(length: int, crop_size: int, step: int, thresh_size: int) -> List[int]:
    """Start offsets of the crops along one axis.

    Args:
        length: Image size along the axis (at least ``crop_size``).
        crop_size: Crop side.
        step: Distance between consecutive crops.
        thresh_size: A leftover edge strip wider than this gets one extra crop flush with the edge.

    Returns:
        Increasing start offsets.
    """
    starts = list(range(0, length - crop_size + 1, step))
    if length - (starts[-1] + crop_size) > thresh_size:
        starts.append(length - crop_size)
    return starts


def extract_one(
    path: str, output: str, crop_size: int, step: int, thresh_size: int, compression_level: int
) -> Tuple[str, int, Optional[str]]:
    """Crop one image into sub-images and write them.

    Args:
        path: Input image.
        output: Output folder.
        crop_size: Sub-image side.
        step: Distance between sub-images.
        thresh_size: Threshold for the extra edge crop.
        compression_level: PNG compression level (0-9).

    Returns:
        (input path, number of sub-images written, problem description or None).
    """
    try:
        img = read_image(path, cv2.IMREAD_UNCHANGED)
    except (OSError, ValueError) as error:
        return path, 0, str(error)
    h, w = img.shape[:2]
    if h < crop_size or w < crop_size:
        return path, 0, f'"{path}" is {h}x{w}, smaller than crop_size {crop_size}: skipped'
    name, ext = os.path.splitext(os.path.basename(path))
    index = 0
    for top in crop_starts(h, crop_size, step, thresh_size):
        for left in crop_starts(w, crop_size, step, thresh_size):
            index += 1
            patch = np.ascontiguousarray(img[top : top + crop_size, left : left + crop_size, ...])
            write_image(
                os.path.join(output, f'{name}_s{index:03d}{ext}'),
                patch,
                [cv2.IMWRITE_PNG_COMPRESSION, compression_level],
            )
    return path, index, None


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status: 0 when every image was cropped, 1 when some were skipped (listed on stderr).
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--input', default='datasets/DF2K/DF2K_HR', help='Input folder. Default: %(default)s')
    parser.add_argument('--output', default='datasets/DF2K/DF2K_HR_sub', help='Output folder. Default: %(default)s')
    parser.add_argument('--crop_size', type=int, default=480, help='Sub-image side. Default: %(default)s')
    parser.add_argument('--step', type=int, default=240, help='Step between sub-images. Default: %(default)s')
    parser.add_argument(
        '--thresh_size',
        type=int,
        default=0,
        help='An edge strip wider than this gets one more crop flush with the edge. Default: %(default)s',
    )
    parser.add_argument('--n_thread', type=int, default=20, help='Worker processes. Default: %(default)s')
    parser.add_argument(
        '--compression_level', type=int, default=3, help='PNG compression level, 0-9. Default: %(default)s'
    )
    args = parser.parse_args(argv)

    if args.crop_size < 1 or args.step < 1 or args.thresh_size < 0 or args.n_thread < 1:
        parser.error('--crop_size, --step and --n_thread must be positive and --thresh_size not negative')
    if not 0 <= args.compression_level <= 9:
        parser.error(f'--compression_level must be within 0..9, got {args.compression_level}')
    if not os.path.isdir(args.input):
        parser.error(f'input folder "{args.input}" does not exist')
    names = list_images(args.input)
    if not names:
        parser.error(f'input folder "{args.input}" holds no images')
    if os.path.isdir(args.output) and os.listdir(args.output):
        parser.error(
            f'output folder "{args.output}" already exists and is not empty; remove it or pick another '
            '--output, so that sub-images of different runs do not mix'
        )
    os.makedirs(args.output, exist_ok=True)

    worker = partial(
        extract_one,
        output=args.output,
        crop_size=args.crop_size,
        step=args.step,
        thresh_size=args.thresh_size,
        compression_level=args.compression_level,
    )
    paths = [os.path.join(args.input, name) for name in names]
    problems, total = [], 0
    with Pool(min(args.n_thread, len(paths))) as pool, tqdm(total=len(paths), unit='image') as pbar:
        for path, count, problem in pool.imap_unordered(worker, paths):
            total += count
            if problem:
                problems.append(problem)
            pbar.set_description(os.path.basename(path))
            pbar.update(1)
    print(f'Wrote {total} sub-images of {len(paths) - len(problems)} images to {args.output}.')
    for problem in problems:
        print(f'skipped: {problem}', file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
