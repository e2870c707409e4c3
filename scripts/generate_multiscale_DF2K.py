"""Make the multi-scale copies of the DF2K HR images that Real-ESRGAN trains on.

Each image ``name.ext`` of ``--input`` gives, in ``--output``, ``nameT0.png``, ``nameT1.png`` and ``nameT2.png``
(LANCZOS downscales by 0.75, 0.5 and 1/3) and ``nameT3.png`` (LANCZOS resize so that the shortest edge is 400
pixels). Unreadable images are skipped and reported.

Example::

    python scripts/generate_multiscale_DF2K.py --input datasets/DF2K/DF2K_HR --output datasets/DF2K/DF2K_multiscale
"""

import argparse
import os
import sys
from typing import List, Optional, Tuple

from PIL import Image
from tqdm import tqdm

from realesrgan.fileio.atomic import atomic_output
from realesrgan.fileio.images import list_images

SCALES = (0.75, 0.5, 1 / 3)
SHORTEST_EDGE = 400


def multiscale_sizes(width: int, height: int) -> List[Tuple[int, int]]:
    """Output sizes (width, height) for ``T0`` .. ``T3``.

    Args:
        width: Input width.
        height: Input height.

    Returns:
        The three scaled sizes, then the size whose shortest edge is :data:`SHORTEST_EDGE`.
    """
    sizes = [(int(width * scale), int(height * scale)) for scale in SCALES]
    if width < height:
        sizes.append((SHORTEST_EDGE, int(SHORTEST_EDGE * (height / width))))
    else:
        sizes.append((int(SHORTEST_EDGE * (width / height)), SHORTEST_EDGE))
    return sizes


def save_png(img: Image.Image, path: str) -> None:
    """Save a PNG atomically (write, then rename).

    Args:
        img: Image.
        path: Output file.
    """
    with atomic_output(path) as partial:
        img.save(partial, format='PNG')


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status: 0, or 1 when some images could not be read (listed on stderr).
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--input', default='datasets/DF2K/DF2K_HR', help='Input folder. Default: %(default)s')
    parser.add_argument('--output', default='datasets/DF2K/DF2K_multiscale', help='Output folder. Default: %(default)s')
    args = parser.parse_args(argv)

    if not os.path.isdir(args.input):
        parser.error(f'input folder "{args.input}" does not exist')
    names = list_images(args.input)
    if not names:
        parser.error(f'input folder "{args.input}" holds no images')
    os.makedirs(args.output, exist_ok=True)

    problems = []
    for name in tqdm(names, unit='image'):
        path = os.path.join(args.input, name)
        basename = os.path.splitext(name)[0]
        try:
            with Image.open(path) as img:
                img.load()
                for index, size in enumerate(multiscale_sizes(*img.size)):
                    resized = img.resize(size, resample=Image.LANCZOS)
                    save_png(resized, os.path.join(args.output, f'{basename}T{index}.png'))
        except OSError as error:
            problems.append(f'"{path}": {error}')
    print(f'Wrote {4 * (len(names) - len(problems))} images to {args.output}.')
    for problem in problems:
        print(f'skipped: {problem}', file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
