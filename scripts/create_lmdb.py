"""Pack a folder of images (or a GT folder and an LQ folder) into LMDB databases for faster training IO.

Each image ``name.ext`` is stored PNG-encoded under the key ``name``; ``meta_info.txt`` inside the ``.lmdb``
folder lists ``name.png (h,w,c) compress_level`` per image (BasicSR's layout, read by
``io_backend: {type: lmdb}``). With two input folders the two databases must end up with the same keys, as
RealESRGANPairedDataset needs. Unreadable images (and, for pairs, their partners) are left out and reported.

Examples::

    python scripts/create_lmdb.py --input_folder datasets/DF2K/DF2K_HR_sub \\
        --lmdb_path datasets/DF2K/DF2K_HR_sub.lmdb
    python scripts/create_lmdb.py --input_folder datasets/DIV2K/HR_sub datasets/DIV2K/LR_X4_sub \\
        --lmdb_path datasets/DIV2K/HR_sub.lmdb datasets/DIV2K/LR_X4_sub.lmdb
"""

import argparse
import os
import shutil
import sys
from typing import Dict, List, Optional, Tuple

from PIL import Image
from tqdm import tqdm

from realesrgan.fileio.images import list_images

MAP_SIZE_MARGIN = 1.5  # PNG at a low compression level stays below raw size; keep room for LMDB overhead
MAP_SIZE_EXTRA = 64 * 1024**2


def scan_images(folder: str) -> Tuple[Dict[str, str], int, List[str]]:
    """Find the images of a folder, their LMDB keys and their raw size, checking each file's header.

    Args:
        folder: Image folder.

    Returns:
        (key -> file name for the readable images, total raw pixel bytes, problem descriptions).
    """
    names, raw_bytes, problems = {}, 0, []
    for name in tqdm(list_images(folder), unit='image', desc=f'scan {os.path.basename(folder)}'):
        key = os.path.splitext(name)[0]
        path = os.path.join(folder, name)
        if not key.isascii():
            problems.append(f'"{path}": LMDB keys must be ASCII, rename the file')
            continue
        if key in names:
            problems.append(f'"{path}": key "{key}" already used by "{names[key]}"')
            continue
        try:
            with Image.open(path) as img:
                img.verify()
                width, height = img.size
                raw_bytes += width * height * len(img.getbands()) * (2 if ';16' in img.mode else 1)
        except (OSError, SyntaxError) as error:
            problems.append(f'"{path}": not a readable image ({error})')
            continue
        names[key] = name
    return names, raw_bytes, problems


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status: 0, or 1 when some images were left out (listed on stderr) or writing failed.
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--input_folder', '--input', nargs='+', required=True, help='Image folder, or GT folder and LQ folder'
    )
    parser.add_argument(
        '--lmdb_path',
        '--output',
        nargs='+',
        default=None,
        help='Output .lmdb folder per input folder. Default: the input folder name plus ".lmdb"',
    )
    parser.add_argument(
        '--compress_level',
        type=int,
        default=1,
        help='PNG compression level of the stored images, 0-9. Default: %(default)s',
    )
    parser.add_argument('--batch', type=int, default=5000, help='Images per LMDB commit. Default: %(default)s')
    parser.add_argument(
        '--multiprocessing_read', action='store_true', help='Read all images into memory with several processes'
    )
    parser.add_argument('--n_thread', type=int, default=8, help='Processes for --multiprocessing_read')
    args = parser.parse_args(argv)

    folders = [folder.rstrip('/\\') for folder in args.input_folder]
    lmdb_paths = args.lmdb_path or [f'{folder}.lmdb' for folder in folders]
    if len(folders) > 2 or len(lmdb_paths) != len(folders):
        parser.error('give one input folder (or a GT and an LQ folder) and one --lmdb_path per input folder')
    if not 0 <= args.compress_level <= 9:
        parser.error(f'--compress_level must be within 0..9, got {args.compress_level}')
    for folder, lmdb_path in zip(folders, lmdb_paths):
        if not os.path.isdir(folder):
            parser.error(f'input folder "{folder}" does not exist')
        if not lmdb_path.endswith('.lmdb'):
            parser.error(f'--lmdb_path "{lmdb_path}" must end with ".lmdb"')
        if os.path.exists(lmdb_path):
            parser.error(f'"{lmdb_path}" already exists; remove it or pick another --lmdb_path')

    scans = [scan_images(folder) for folder in folders]
    problems = [problem for scan in scans for problem in scan[2]]
    keys = sorted(set.intersection(*(set(scan[0]) for scan in scans)))
    if len(scans) == 2:
        for (names, _, _), folder in zip(scans, folders):
            problems += [
                f'"{folder}/{names[key]}": no readable partner in the other folder'
                for key in sorted(set(names) - set(keys))
            ]
    if not keys:
        parser.error(f'no readable images to pack in {", ".join(folders)}')

    from basicsr.utils.lmdb_util import make_lmdb_from_imgs  # after realesrgan, which makes BasicSR importable

    written = []
    try:
        for (names, raw_bytes, _), folder, lmdb_path in zip(scans, folders, lmdb_paths):
            written.append(lmdb_path)
            make_lmdb_from_imgs(
                folder,
                lmdb_path,
                [names[key] for key in keys],
                keys,
                batch=args.batch,
                compress_level=args.compress_level,
                multiprocessing_read=args.multiprocessing_read,
                n_thread=args.n_thread,
                map_size=int(raw_bytes * MAP_SIZE_MARGIN) + MAP_SIZE_EXTRA,
            )
    except Exception as error:  # never leave a half-written database behind
        for lmdb_path in written:
            shutil.rmtree(lmdb_path, ignore_errors=True)
        print(
            f'error: writing {written[-1]} failed ({type(error).__name__}: {error}); nothing was kept', file=sys.stderr
        )
        return 1
    print(f'Packed {len(keys)} images into {", ".join(lmdb_paths)}.')
    for problem in problems:
        print(f'left out: {problem}', file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
