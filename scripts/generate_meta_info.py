"""Write the meta_info file of RealESRGANDataset: one GT image path per line, relative to the dataset root.

Every image of each ``--input`` folder is listed (sorted, sub-folders included) as a path relative to the
matching ``--root`` (the ``dataroot_gt`` of the training options); ``--root`` defaults to each input's parent
folder. With ``--check`` every image is decoded first and unreadable ones are left out and reported.

Example (the DF2K + multiscale list of Real-ESRGAN)::

    python scripts/generate_meta_info.py --input datasets/DF2K/DF2K_HR datasets/DF2K/DF2K_multiscale \\
        --root datasets/DF2K datasets/DF2K --meta_info datasets/DF2K/meta_info/meta_info_DF2Kmultiscale.txt
"""

import argparse
import os
import sys
from typing import List, Optional

import cv2
from tqdm import tqdm

from realesrgan.data.data_io import write_meta_info
from realesrgan.fileio.images import list_images, read_image


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status: 0, or 1 when ``--check`` left out unreadable images (listed on stderr).
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--input',
        nargs='+',
        default=['datasets/DF2K/DF2K_HR', 'datasets/DF2K/DF2K_multiscale'],
        help='Input folders. Default: %(default)s',
    )
    parser.add_argument(
        '--root',
        nargs='+',
        default=None,
        help='Dataset root of each input folder; paths are written relative to it. Default: the parent folders',
    )
    parser.add_argument(
        '--meta_info',
        default='datasets/DF2K/meta_info/meta_info_DF2Kmultiscale.txt',
        help='Output meta_info file. Default: %(default)s',
    )
    parser.add_argument('--check', action='store_true', help='Decode every image and leave out unreadable ones')
    args = parser.parse_args(argv)

    roots = args.root or [os.path.dirname(os.path.abspath(folder)) for folder in args.input]
    if len(roots) != len(args.input):
        parser.error(f'give one --root per --input folder ({len(args.input)} inputs, {len(roots)} roots)')
    listed = []
    for folder, root in zip(args.input, roots):
        if not os.path.isdir(folder):
            parser.error(f'input folder "{folder}" does not exist')
        relative = os.path.relpath(os.path.abspath(folder), os.path.abspath(root))
        if relative.startswith(os.pardir):
            parser.error(f'input folder "{folder}" is not inside its root "{root}"')
        names = list_images(folder, recursive=True)
        if not names:
            parser.error(f'input folder "{folder}" holds no images')
        listed += [
            (os.path.join(folder, name), os.path.normpath(os.path.join(relative, name)).replace(os.sep, '/'))
            for name in names
        ]

    lines, unreadable = [], []
    for path, line in tqdm(listed, unit='image', desc='check' if args.check else 'list'):
        if args.check:
            try:
                read_image(path, cv2.IMREAD_UNCHANGED)
            except (OSError, ValueError) as error:
                unreadable.append(str(error))
                continue
        lines.append(line)
    if not lines:
        parser.error('no readable image left to list')
    write_meta_info(args.meta_info, lines)
    print(f'Wrote {len(lines)} lines to {args.meta_info}.')
    for problem in unreadable:
        print(f'left out: {problem}', file=sys.stderr)
    return 1 if unreadable else 0


if __name__ == '__main__':
    sys.exit(main())
