"""Make a validation set once: GT images degraded by a training config's degradation, with a fixed seed.

    python scripts/make_val_pairs.py -opt options/demo_realesrnet_x4plus.yml --gt datasets/demo/val/gt \
        --output datasets/demo/val_degraded [--seed 0]

Writes <output>/gt/<name>.png (the GT, cropped to a multiple of the scale) and <output>/lq/<name>.png (its LQ), and
prints the val dataset section that reads them (BasicSR's PairedImageDataset);
see realesrgan/training/validation_pairs.py.
Exit status: 0 all written, 1 some images skipped (listed), 2 nothing could be done.
"""

import argparse
import sys
from typing import List, Optional

import realesrgan  # noqa: F401  (BasicSR compatibility first)

# isort: split
from realesrgan.training.option_checks import OptionsError, load_options_file
from realesrgan.training.validation_pairs import make_validation_pairs


def build_parser() -> argparse.ArgumentParser:
    """The command-line flags."""
    parser = argparse.ArgumentParser(description='Degrade GT images once (fixed seed) into a GT/LQ validation set.')
    parser.add_argument('-opt', required=True, help='Training config whose degradation makes the LQ')
    parser.add_argument('--gt', required=True, help='Folder of GT images')
    parser.add_argument('--output', required=True, help='Folder that gets gt/ and lq/')
    parser.add_argument('--seed', type=int, default=0, help='Seed of the degradation (default: 0)')
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        opt = load_options_file(args.opt)
        summary = make_validation_pairs(opt, args.gt, args.output, args.seed)
    except (OptionsError, OSError, ValueError) as error:
        print(f'error: {" ".join(str(error).split())}', file=sys.stderr)
        return 2
    print(f'{len(summary.written)} pair(s) written into {args.output}/gt and {args.output}/lq (seed {args.seed}).')
    for path, reason in summary.skipped:
        print(f'skipped {path}: {reason}', file=sys.stderr)
    if summary.written:
        print(
            'Validate on them with, in the options file:\n'
            '  datasets:\n'
            '    val:\n'
            '      name: degraded_val\n'
            '      type: PairedImageDataset\n'
            f'      dataroot_gt: {args.output}/gt\n'
            f'      dataroot_lq: {args.output}/lq\n'
            '      io_backend:\n'
            '        type: disk'
        )
    return 1 if summary.skipped or not summary.written else 0


if __name__ == '__main__':
    sys.exit(main())
