"""The evaluation command line: ``python scripts/evaluate.py --lq LQ --gt GT -n MODEL ...`` (or ``--sr SR --gt GT``).

Prints the table of values per image and the mean of each method; writes CSV, JSON, the comparison picture and a
Markdown report when asked (picture and report by default when upscaling). Exit status: 0 when everything was
measured, 1 when some files or values could not be (listed at the end), 2 when the run could not start.
"""

import argparse
from typing import List, Optional

from tqdm import tqdm

from realesrgan.cli.options import (
    add_engine_options,
    add_original_options,
    add_version_option,
    configure_logging,
    report_error,
)
from realesrgan.evaluation.job import EvaluateJob, EvaluateJobError, run_evaluate_job
from realesrgan.evaluation.report import table_rows, text_table
from realesrgan.execution.job import reported_as
from realesrgan.inference.settings import UpscaleSettings, fields_from
from realesrgan.metrics import OWN_METRICS
from realesrgan.metrics.lpips import LPIPS_NETS
from realesrgan.zoo import MODEL_ZOO


def build_parser() -> argparse.ArgumentParser:
    """The command-line flags: what to measure and how, then the upscaling flags of ``inference_realesrgan.py``."""
    parser = argparse.ArgumentParser(
        description='Measure super-resolution quality (PSNR, SSIM, NIQE, LPIPS, pyiqa metrics) of outputs against '
        'GT images, or upscale LQ images with bicubic and models first.'
    )
    parser.add_argument('--sr', type=str, default=None, help='Folder of outputs to measure (<name>_<suffix>.*)')
    parser.add_argument('--lq', type=str, default=None, help='Folder of LQ images to upscale with bicubic and -n')
    parser.add_argument('--gt', type=str, default=None, help='Folder of GT images (<name>.*); none: NIQE etc. only')
    parser.add_argument(
        '-n',
        '--model_name',
        dest='models',
        nargs='+',
        default=[],
        help=f'With --lq: models to compare with bicubic, names ({", ".join(MODEL_ZOO)}) or checkpoint files',
    )
    parser.add_argument(
        '--metrics',
        nargs='+',
        default=[],
        help=f'Metrics: {", ".join(OWN_METRICS)}, or any pyiqa name when pyiqa is installed (pyiqa:<name> for '
        "pyiqa's own psnr, ...); default: psnr ssim with --gt, niqe without",
    )
    parser.add_argument('--crop_border', type=int, default=0, help='Pixels left out at each border (default: 0)')
    parser.add_argument('--y_channel', action='store_true', help='PSNR and SSIM on the Y channel of YCbCr')
    parser.add_argument('--csv', type=str, default=None, help='Write the values to this CSV file')
    parser.add_argument('--json', type=str, default=None, help='Write the values to this JSON file')
    parser.add_argument(
        '--picture', type=str, default=None, help='Comparison picture (PNG; default with --lq: <output>/comparison.png)'
    )
    parser.add_argument(
        '--report', type=str, default=None, help='Markdown report (default with --lq: <output>/report.md)'
    )
    parser.add_argument('--picture_images', type=int, default=3, help='Images shown in the picture (default: 3)')
    parser.add_argument('--crop_size', type=int, default=64, help='Side of the crop shown, output pixels (default: 64)')
    parser.add_argument(
        '--lpips_net', type=str, default='alex', choices=LPIPS_NETS, help='LPIPS backbone (default: alex)'
    )
    add_version_option(parser)
    add_original_options(parser, 'image')
    add_engine_options(parser)
    parser.set_defaults(output='results/evaluate')  # the measuring job's own folder under results/
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Measure (and first upscale) as the flags say; returns the exit status (0, 1 not all measured, 2 not started)."""
    args = build_parser().parse_args(argv)
    configure_logging()
    try:
        with reported_as(EvaluateJobError):
            values = dict(vars(args), models=tuple(args.models), metrics=tuple(args.metrics))
            job = EvaluateJob(
                settings=UpscaleSettings.from_args(values), **fields_from(EvaluateJob, values, ('settings',))
            )
        result = run_evaluate_job(job, log=tqdm.write)
    except EvaluateJobError as error:
        return report_error(error)
    header, rows = table_rows(result.results)
    print(text_table(header, rows, text_columns=2 if len(result.results) > 1 else 1))
    if len(result.results) > 1:
        print()
        header, rows = table_rows(result.results, means_only=True)
        print(text_table([name for name in header if name != 'image'], [row[:1] + row[2:] for row in rows]))
    problems = result.problems()
    if problems:
        print(f'\n{len(problems)} not measured:')
        print('\n'.join(f'  {line}' for line in problems))
    for path in result.written:
        print(f'Wrote {path}')
    return 0 if result.ok else 1
