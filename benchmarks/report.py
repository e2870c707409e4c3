"""Turning the benchmark's measurements into the printed table and the PASS/FAIL checks, per CPU kind.

The targets depend on the precision ``--precision auto`` picks, which the CPU kind decides. Where it picks bf16
(CPUs with AMX-BF16) the default must be 2.5x the original's fp32 and within 45 dB of our fp32, and beat ncnn's
fastest mode by 1.5x (measured there: 4.9x, 52.7 dB, 2.5x). Where it keeps fp32 (AVX-512 without AMX, older CPUs)
there is no bf16 target: the default is fp32, whose target is 1.5x the original (time <= 0.67x), and it must at
least match ncnn's fastest mode. The output checks (fp32 against the original, tiled memory) hold on every kind.
"""

import math
import statistics
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

__all__ = [
    'Measurement',
    'Check',
    'Targets',
    'size_label',
    'format_table',
    'measurement_rows',
    'evaluate_checks',
    'targets_for',
    'targets_line',
    'TABLE_HEADERS',
]

CHECK_MODEL = 'RealESRGAN_x4plus'
CHECK_FAST_MODEL = 'realesr-animevideov3'
CHECK_SIZE = 256
TILED_CHECK_SIZE = 512
FP32_MIN_PSNR = 60.0
TILED_MAX_MEMORY_RATIO = 1.3


@dataclass(frozen=True)
class Targets:
    """The speed and quality targets of one CPU kind.

    Attributes:
        fp32_max_time_ratio: Our fp32 time over the original's (both fp32), at most.
        default_min_speedup: Our default precision over the original's fp32, at least; None where the default is
            fp32 (then the fp32 target is the default's).
        default_min_psnr: Our default precision against our fp32 in dB, at least; None where the default is fp32.
        ncnn_min_speedup: Our default precision over ncnn's fastest mode, at least.
    """

    fp32_max_time_ratio: float
    default_min_speedup: Optional[float]
    default_min_psnr: Optional[float]
    ncnn_min_speedup: float


def targets_for(default_precision: str) -> Targets:
    """The targets where ``--precision auto`` picks ``default_precision`` on the CPU.

    Args:
        default_precision: ``'bf16'`` (AMX-BF16 CPUs) or ``'fp32'`` (all other CPUs).

    Returns:
        The targets: bf16 ones only where bf16 is the default.
    """
    if default_precision == 'fp32':
        return Targets(fp32_max_time_ratio=0.67, default_min_speedup=None, default_min_psnr=None, ncnn_min_speedup=1.0)
    return Targets(fp32_max_time_ratio=0.67, default_min_speedup=2.5, default_min_psnr=45.0, ncnn_min_speedup=1.5)


def targets_line(kind: str, default_precision: str) -> str:
    """The line printed above the checks: which CPU kind, which default, which targets.

    Args:
        kind: The CPU kind (``machine.cpu_kind``).
        default_precision: What ``--precision auto`` picks on it.

    Returns:
        One line.
    """
    targets = targets_for(default_precision)
    if targets.default_min_speedup is None:
        speed = f'the default is fp32: >= {1 / targets.fp32_max_time_ratio:.1f}x the original, no bf16 target'
    else:
        speed = (
            f'the default is {default_precision}: >= {targets.default_min_speedup}x the original fp32 at >= '
            f'{targets.default_min_psnr:.0f} dB from our fp32; fp32 >= {1 / targets.fp32_max_time_ratio:.1f}x'
        )
    return (
        f'Checks for this CPU kind ({kind}): {speed}; {CHECK_FAST_MODEL} >= {targets.ncnn_min_speedup}x ncnn '
        'fastest mode'
    )


@dataclass
class Measurement:
    """One configuration measured in its own process.

    Attributes:
        model: Zoo model name.
        size: Side of the square input in pixels.
        tiled: Whether the run used tiling.
        impl: ``'ours'``, ``'original'`` or ``'ncnn'``.
        precision: ``'fp32'``, ``'bf16'``, ``'fp16'`` (for ncnn: its storage mode).
        times: Seconds of each timed run (after one warm-up run).
        peak_rss_mib: Peak resident memory of the worker process.
        out_pixels: Pixels of the output image.
        gflops: Useful convolution GFLOPs of one image (tile overlaps not counted).
        compute: Arithmetic precision that bounds the run (selects the peak it is compared with).
        psnr: PSNR in dB of the output against our fp32 untiled output of the same image (``inf``: identical).
        is_reference: Whether this is that fp32 untiled output (the PSNR reference of its image).
        error: Why the configuration produced no result, if it failed.
    """

    model: str
    size: int
    tiled: bool
    impl: str
    precision: str
    times: List[float] = field(default_factory=list)
    peak_rss_mib: Optional[float] = None
    out_pixels: Optional[int] = None
    gflops: Optional[float] = None
    compute: str = 'fp32'
    psnr: Optional[float] = None
    is_reference: bool = False
    error: Optional[str] = None

    @property
    def median_s(self) -> Optional[float]:
        """Median of the timed runs, None when the configuration failed."""
        return statistics.median(self.times) if self.times and self.error is None else None

    @property
    def label(self) -> str:
        """Short configuration name for tables and check lines, e.g. ``ours bf16``."""
        return f'{self.impl} {self.precision}'


@dataclass
class Check:
    """One "Done when" condition: ``status`` is ``'PASS'``, ``'FAIL'`` or ``'SKIP'`` (not measured)."""

    name: str
    status: str
    detail: str


def size_label(size: int, tiled: bool) -> str:
    """``'256'`` or ``'512 tiled'``."""
    return f'{size} tiled' if tiled else str(size)


def _fmt(value: Optional[float], digits: int = 2, suffix: str = '') -> str:
    if value is None:
        return '-'
    if math.isinf(value):
        return 'inf'
    return f'{value:.{digits}f}{suffix}'


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: columns padded to their widest cell, text left-aligned and numbers right-aligned.

    Args:
        headers: Column titles.
        rows: Cells (strings), one sequence per row, as many as there are headers.

    Returns:
        The table as lines joined by newlines (header, a rule, then the rows).
    """
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f'row {list(row)} has {len(row)} cells for {len(headers)} columns')
    widths = [max([len(header)] + [len(row[col]) for row in rows]) for col, header in enumerate(headers)]

    def is_number(text: str) -> bool:
        return text not in ('', '-') and (
            text.replace('.', '', 1).replace('x', '').replace('%', '').isdigit() or text == 'inf'
        )

    def line(cells: Sequence[str]) -> str:
        padded = [cell.rjust(width) if is_number(cell) else cell.ljust(width) for cell, width in zip(cells, widths)]
        return '  '.join(padded).rstrip()

    return '\n'.join([line(headers), '  '.join('-' * width for width in widths)] + [line(row) for row in rows])


TABLE_HEADERS = (
    'model',
    'size',
    'config',
    'median s',
    'out MP/s',
    'GFLOP/s',
    '% peak',
    'peak MiB',
    'vs original',
    'PSNR dB',
)


def _original_of(measurements: Sequence[Measurement], item: Measurement) -> Optional[Measurement]:
    for other in measurements:
        if (
            other.impl == 'original'
            and other.model == item.model
            and other.size == item.size
            and other.tiled == item.tiled
            and other.median_s
        ):
            return other
    return None


def measurement_rows(measurements: Sequence[Measurement], peak_gflops: Dict[str, Optional[float]]) -> List[List[str]]:
    """Table cells for each measurement (see :data:`TABLE_HEADERS`).

    ``vs original`` is the speed-up over the original package on the same image and tiling (its time divided
    by this time); ``% peak`` compares the achieved GFLOP/s with the measured matmul peak of the precision the
    run computes in.

    Args:
        measurements: All measurements of the run.
        peak_gflops: Measured peak GFLOP/s per precision (None where not measured).

    Returns:
        One list of cells per measurement.
    """
    rows = []
    for item in measurements:
        cells = [item.model, size_label(item.size, item.tiled), item.label]
        seconds = item.median_s
        if seconds is None:
            rows.append(cells + ['failed' if item.error else '-'] + ['-'] * 6)
            continue
        achieved = item.gflops / seconds if item.gflops is not None else None
        peak = peak_gflops.get(item.compute)
        original = _original_of(measurements, item)
        speedup = original.median_s / seconds if original is not None else None
        rows.append(
            cells
            + [
                _fmt(seconds, 3),
                _fmt(item.out_pixels / 1e6 / seconds if item.out_pixels else None, 3),
                _fmt(achieved, 1),
                _fmt(100 * achieved / peak if achieved is not None and peak else None, 0, '%'),
                _fmt(item.peak_rss_mib, 0),
                _fmt(speedup, 2, 'x'),
                'ref' if item.is_reference else _fmt(item.psnr, 1),
            ]
        )
    return rows


def _find(
    measurements: Sequence[Measurement], model: str, size: int, tiled: bool, impl: str, precision: Optional[str] = None
) -> List[Measurement]:
    return [
        item
        for item in measurements
        if item.model == model
        and item.size == size
        and item.tiled == tiled
        and item.impl == impl
        and (precision is None or item.precision == precision)
        and item.median_s is not None
    ]


def _skip(name: str, why: str) -> Check:
    return Check(name, 'SKIP', why)


def _verdict(name: str, passed: bool, detail: str) -> Check:
    return Check(name, 'PASS' if passed else 'FAIL', detail)


def evaluate_checks(
    measurements: Sequence[Measurement], default_precision: str, tile_side: Optional[int] = None
) -> List[Check]:
    """The targets of this CPU kind (:func:`targets_for`) over one run's measurements.

    Args:
        measurements: All measurements of the run.
        default_precision: Our default CPU precision (what ``auto`` resolves to on this machine).
        tile_side: Input side of the tiles of the tiled run (tile plus the context on both sides, see
            ``inference_benchmark.tile_side_of``); the tiled run's memory is compared with an untiled run of that size.

    Returns:
        One :class:`Check` per condition (SKIP where the run did not measure what it needs); the bf16 targets are
        left out where the default is fp32.
    """
    targets = targets_for(default_precision)
    checks = []

    name = f'fp32 output vs original >= {FP32_MIN_PSNR:.0f} dB (all untiled runs)'
    originals = [item for item in measurements if item.impl == 'original' and not item.tiled and item.median_s]
    if originals:
        worst = min(originals, key=lambda item: item.psnr if item.psnr is not None else -math.inf)
        passed = all(item.psnr is not None and item.psnr >= FP32_MIN_PSNR for item in originals)
        checks.append(_verdict(name, passed, f'lowest {_fmt(worst.psnr, 1)} dB ({worst.model} {worst.size} px)'))
    else:
        checks.append(_skip(name, 'no untiled run of the original'))

    ours_fp32 = _find(measurements, CHECK_MODEL, CHECK_SIZE, False, 'ours', 'fp32')
    original = _find(measurements, CHECK_MODEL, CHECK_SIZE, False, 'original')
    name = f'fp32 time <= {targets.fp32_max_time_ratio} x original ({CHECK_MODEL}, {CHECK_SIZE} px)'
    if ours_fp32 and original:
        ratio = ours_fp32[0].median_s / original[0].median_s
        checks.append(
            _verdict(
                name,
                ratio <= targets.fp32_max_time_ratio,
                f'{ratio:.3f} x = {1 / ratio:.2f}x faster ({ours_fp32[0].median_s:.2f} s vs '
                f'{original[0].median_s:.2f} s)',
            )
        )
    else:
        checks.append(_skip(name, f'needs ours fp32 and the original at {CHECK_SIZE} px'))

    ours_default = _find(measurements, CHECK_MODEL, CHECK_SIZE, False, 'ours', default_precision)
    if targets.default_min_speedup is not None:
        name = (
            f'default precision ({default_precision}) >= {targets.default_min_speedup}x faster than original fp32 '
            f'({CHECK_MODEL}, {CHECK_SIZE} px)'
        )
        if ours_default and original:
            speedup = original[0].median_s / ours_default[0].median_s
            checks.append(
                _verdict(
                    name,
                    speedup >= targets.default_min_speedup,
                    f'{speedup:.2f}x ({ours_default[0].median_s:.2f} s vs {original[0].median_s:.2f} s)',
                )
            )
        else:
            checks.append(_skip(name, f'needs ours {default_precision} and the original at {CHECK_SIZE} px'))

        name = (
            f'default precision ({default_precision}) >= {targets.default_min_psnr:.0f} dB vs our fp32 '
            f'({CHECK_MODEL}, {CHECK_SIZE} px)'
        )
        if ours_default and ours_default[0].psnr is not None:
            passed = ours_default[0].psnr >= targets.default_min_psnr
            checks.append(_verdict(name, passed, f'{_fmt(ours_default[0].psnr, 1)} dB'))
        else:
            checks.append(_skip(name, f'needs ours {default_precision} and ours fp32 at {CHECK_SIZE} px'))

    fast_ours = _find(measurements, CHECK_FAST_MODEL, CHECK_SIZE, False, 'ours', default_precision)
    ncnn = _find(measurements, CHECK_FAST_MODEL, CHECK_SIZE, False, 'ncnn')
    name = (
        f'{CHECK_FAST_MODEL} {CHECK_SIZE} px: ours ({default_precision}) >= {targets.ncnn_min_speedup}x faster than '
        'ncnn fastest mode'
    )
    if fast_ours and ncnn:
        fastest = min(ncnn, key=lambda item: item.median_s)
        speedup = fastest.median_s / fast_ours[0].median_s
        checks.append(
            _verdict(
                name,
                speedup >= targets.ncnn_min_speedup,
                f'{speedup:.2f}x ({fast_ours[0].median_s:.3f} s vs ncnn {fastest.precision} {fastest.median_s:.3f} s)',
            )
        )
    else:
        checks.append(_skip(name, f'needs ours {default_precision} and ncnn at {CHECK_SIZE} px'))

    models = sorted({item.model for item in measurements})
    for model in models:
        for precision in sorted({item.precision for item in measurements if item.impl == 'ours'}):
            name = (
                f'{model} {precision}: tiled {TILED_CHECK_SIZE} px peak memory <= {TILED_MAX_MEMORY_RATIO}x '
                f'untiled at the tile size ({tile_side} px)'
            )
            tiled = _find(measurements, model, TILED_CHECK_SIZE, True, 'ours', precision)
            one_tile = _find(measurements, model, tile_side, False, 'ours', precision) if tile_side else []
            if tiled and one_tile:
                ratio = tiled[0].peak_rss_mib / one_tile[0].peak_rss_mib
                detail = f'{ratio:.2f}x ({tiled[0].peak_rss_mib:.0f} MiB vs {one_tile[0].peak_rss_mib:.0f} MiB)'
                whole = _find(measurements, model, TILED_CHECK_SIZE, False, 'ours', precision)
                if whole:
                    detail += f'; untiled {TILED_CHECK_SIZE} px: {whole[0].peak_rss_mib:.0f} MiB'
                checks.append(_verdict(name, ratio <= TILED_MAX_MEMORY_RATIO, detail))
            else:
                checks.append(
                    _skip(name, f'needs ours {precision} untiled at {tile_side} px and tiled at {TILED_CHECK_SIZE} px')
                )
    return checks
