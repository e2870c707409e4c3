"""Write the meta_info file of RealESRGANPairedDataset: ``gt_path, lq_path`` per line.

The images of the GT folder and of the LQ folder (``--input gt_folder lq_folder``) are paired in sorted order,
so they need the same count and matching sort order (e.g. ``0001_s001.png`` with ``0001x4_s001.png``). Paths are
written relative to ``--root`` (the ``dataroot_gt`` and ``dataroot_lq`` of the training options), by default the
parent folder of each input.

Example (the DIV2K pairs of the fine-tuning config)::

    python scripts/generate_meta_info_pairdata.py \\
        --input datasets/DF2K/DIV2K_train_HR_sub datasets/DF2K/DIV2K_train_LR_bicubic_X4_sub \\
        --meta_info datasets/DF2K/meta_info/meta_info_DIV2K_sub_pair.txt
"""

import argparse
import os
import sys
from typing import List, Optional

from tqdm import tqdm

from realesrgan.data.data_io import write_meta_info
from realesrgan.fileio.images import list_images


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status 0 (bad input ends through ``argparse`` with status 2).
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--input',
        nargs=2,
        metavar=('GT_FOLDER', 'LQ_FOLDER'),
        default=['datasets/DF2K/DIV2K_train_HR_sub', 'datasets/DF2K/DIV2K_train_LR_bicubic_X4_sub'],
        help='GT folder and LQ folder. Default: %(default)s',
    )
    parser.add_argument(
        '--root',
        nargs=2,
        metavar=('GT_ROOT', 'LQ_ROOT'),
        default=[None, None],
        help='Roots the GT and LQ paths are written relative to. Default: the parent folders of the inputs',
    )
    parser.add_argument(
        '--meta_info',
        default='datasets/DF2K/meta_info/meta_info_DIV2K_sub_pair.txt',
        help='Output meta_info file. Default: %(default)s',
    )
    args = parser.parse_args(argv)

    columns = []
    for folder, root, kind in zip(args.input, args.root, ('GT', 'LQ')):
        if not os.path.isdir(folder):
            parser.error(f'{kind} folder "{folder}" does not exist')
        root = root if root not in (None, 'None') else os.path.dirname(os.path.abspath(folder))
        relative = os.path.relpath(os.path.abspath(folder), os.path.abspath(root))
        if relative.startswith(os.pardir):
            parser.error(f'{kind} folder "{folder}" is not inside its root "{root}"')
        names = list_images(folder)
        if not names:
            parser.error(f'{kind} folder "{folder}" holds no images')
        columns.append([os.path.normpath(os.path.join(relative, name)).replace(os.sep, '/') for name in names])
    gt_paths, lq_paths = columns
    if len(gt_paths) != len(lq_paths):
        parser.error(
            f'GT folder "{args.input[0]}" has {len(gt_paths)} images but LQ folder "{args.input[1]}" has '
            f'{len(lq_paths)}; every GT image needs exactly one LQ partner'
        )
    lines = [f'{gt}, {lq}' for gt, lq in tqdm(zip(gt_paths, lq_paths), total=len(gt_paths), unit='pair')]
    write_meta_info(args.meta_info, lines)
    print(f'Wrote {len(lines)} pairs to {args.meta_info}.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
