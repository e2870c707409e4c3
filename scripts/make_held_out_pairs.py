"""Make validation pairs from held-out ground-truth images, degraded like the training data of an options file.

Each image of ``--input`` is cropped to the largest square whose side is a multiple of the scale and degraded by the
options' second-order degradation with fixed seeds (:func:`realesrgan.training.held_out_pairs.degrade_held_out`), so
that every run validates on the same LQ images. Writes ``<output>/gt`` and ``<output>/lq`` (same file names), the
folders a ``PairedImageDataset`` validation section reads (``dataroot_gt``, ``dataroot_lq``)::

    python scripts/make_held_out_pairs.py --input my_held_out_gt --opt options/finetune_realesr-general-x4v3.yml \\
        --output datasets/finetune_val

Keep the held-out images out of the training data. An existing output folder is replaced only with ``--overwrite``.
"""

import argparse
import os
import shutil
import sys
import tempfile
from typing import List, Optional

from tqdm import tqdm

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import realesrgan  # noqa: E402,F401  (compatibility layer before BasicSR)

# isort: split
from realesrgan.fileio.images import write_image  # noqa: E402
from realesrgan.training.held_out_pairs import degrade_held_out  # noqa: E402
from realesrgan.training.option_checks import OptionsError, load_options_file  # noqa: E402


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status: 0 written, 2 bad arguments or images.
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--input', required=True, help='Folder of held-out ground-truth images')
    parser.add_argument('--opt', required=True, help='Training options file whose degradation to use')
    parser.add_argument('--output', required=True, help='Output folder (gets gt/ and lq/)')
    parser.add_argument('--seed', type=int, default=0, help='Base seed (image i, draw d: seed + i * draws + d)')
    parser.add_argument('--draws', type=int, default=1, help='Degradations per image (file names get _<draw>)')
    parser.add_argument('--overwrite', action='store_true', help='Replace an existing output folder')
    args = parser.parse_args(argv)
    if args.draws < 1:
        parser.error('--draws must be at least 1')
    if not os.path.isdir(args.input):
        parser.error(f'--input "{args.input}" is not a folder of images')
    output = os.path.abspath(args.output)
    if os.path.exists(output) and os.listdir(output) and not args.overwrite:
        parser.error(f'output folder "{args.output}" exists and is not empty; pass --overwrite to replace it')
    try:
        opt = load_options_file(args.opt)
        pairs = degrade_held_out(args.input, opt, seed=args.seed, draws=args.draws)
    except (OptionsError, ValueError, KeyError, OSError) as error:
        print(f'error: {" ".join(str(error).split())}', file=sys.stderr)
        return 2
    parent = os.path.dirname(output)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix='.held_out_', dir=parent)  # swapped in at the end: never half-written
    try:
        for pair in tqdm(pairs, desc='held-out pairs', unit='pair'):
            write_image(os.path.join(staging, 'gt', pair.name), pair.gt)
            write_image(os.path.join(staging, 'lq', pair.name), pair.lq)
        os.chmod(staging, 0o755)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if os.path.exists(output):
        shutil.rmtree(output)
    os.replace(staging, output)
    print(f'{len(pairs)} held-out pairs written to {args.output}/gt and {args.output}/lq')
    return 0


if __name__ == '__main__':
    sys.exit(main())
