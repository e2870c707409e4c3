"""Turning the inference benchmark's measurements into the printed table and the PASS/FAIL checks of the CPU kind.

The checks of every CPU kind are made by one function, :func:`evaluate_checks`, from the targets of that kind
(:data:`TARGETS_BY_KIND`, the kinds of :func:`realesrgan.inference.precision.cpu_kind`). On every kind: our fp32
output matches the original's (>= 60 dB), our fp32 takes at most 0.67x the original's time, our default precision
beats ncnn's fastest CPU mode on both models at 64 and 256 px, at >= 50 dB from our fp32 output, and a tiled run
holds its memory. Where the default is bf16 (AMX-BF16; AMD Zen 5) it must also be 2.5x the original's fp32; on
AMX-BF16, where it was measured 2.5-4.8x ncnn, it must beat ncnn by 1.5x at 256 px.
"""

import math
import statistics
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

from realesrgan.inference.precision import CPU_KIND_AMX_BF16, CPU_KIND_PRECISION, CPU_KIND_ZEN5_BF16

__all__ = [
    'Measurement',
    'Check',
    'Targets',
    'TARGETS_BY_KIND',
    'size_label',
    'measurement_rows',
    'evaluate_checks',
    'targets_for',
    'targets_line',
    'TABLE_HEADERS',
]

CHECK_MODELS = ('RealESRGAN_x4plus', 'realesr-animevideov3')
CHECK_SIZES = (64, 256)
CHECK_MODEL = CHECK_MODELS[0]
CHECK_SIZE = 256
TILED_CHECK_SIZE = 512
FP32_MIN_PSNR = 60.0
TILED_MAX_MEMORY_RATIO = 1.3


@dataclass(frozen=True)
class Targets:
    """The speed and quality targets of one CPU kind.

    Attributes:
        default_precision: What ``--precision auto`` runs on the kind.
        fp32_max_time_ratio: Our fp32 time over the original's (both fp32), at most.
        default_min_speedup: Our default precision over the original's fp32, at least; None where the default is
            fp32 (then the fp32 target is the default's).
        ncnn_min_speedup: Our default precision over ncnn's fastest mode, at least, per input size.
        default_min_psnr: Our default precision against our fp32 in dB, at least (where the default is not fp32).
    """

    default_precision: str
    fp32_max_time_ratio: float = 0.67
    default_min_speedup: Optional[float] = None
    ncnn_min_speedup: Mapping[int, float] = field(default_factory=lambda: {64: 1.0, 256: 1.0})
    default_min_psnr: float = 50.0


# The targets per CPU kind; a kind not listed (fp32 default) gets FP32_TARGETS
FP32_TARGETS = Targets('fp32')
TARGETS_BY_KIND: Dict[str, Targets] = {
    CPU_KIND_AMX_BF16: Targets('bf16', default_min_speedup=2.5, ncnn_min_speedup={64: 1.0, 256: 1.5}),
    CPU_KIND_ZEN5_BF16: Targets('bf16', default_min_speedup=2.5),
    **{kind: FP32_TARGETS for kind, precision in CPU_KIND_PRECISION.items() if precision == 'fp32'},
}


def targets_for(kind: str, default_precision: str) -> Targets:
    """The targets of a CPU kind, for the precision ``--precision auto`` really picked there.

    Args:
        kind: The CPU kind (``realesrgan.inference.precision.cpu_kind``).
        default_precision: What ``auto`` resolved to in this run (fp32 on a bf16 kind whose torch lacks oneDNN bf16).

    Returns:
        The kind's targets, or :data:`FP32_TARGETS` where the run's default is not the kind's.
    """
    targets = TARGETS_BY_KIND.get(kind, FP32_TARGETS)
    return targets if targets.default_precision == default_precision else FP32_TARGETS


def targets_line(kind: str, default_precision: str) -> str:
    """The line printed above the checks: which CPU kind, which default, which targets.

    Args:
        kind: The CPU kind.
        default_precision: What ``--precision auto`` picks on it.

    Returns:
        One line.
    """
    targets = targets_for(kind, default_precision)
    fp32 = f'>= {1 / targets.fp32_max_time_ratio:.1f}x the original'
    if targets.default_min_speedup is None:
        speed = f'the default is fp32: {fp32}, no bf16 target'
    else:
        speed = (
            f'the default is {default_precision}: >= {targets.default_min_speedup}x the original fp32 at >= '
            f'{targets.default_min_psnr:.0f} dB from our fp32; fp32 {fp32}'
        )
    ncnn = ', '.join(f'{size} px >= {value}x' for size, value in sorted(targets.ncnn_min_speedup.items()))
    return f'Checks for this CPU kind ({kind}): {speed}; both models vs ncnn fastest mode: {ncnn}'


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
        threads: Threads the worker's runtime used.
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
    threads: Optional[int] = None

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
    by this time); ``% peak`` compares the achieved GFLOP/s with the best 3x3-convolution GFLOP/s measured in the
    precision the run computes in (``benchlib.conv_peak_worker``).

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
    measurements: Sequence[Measurement], kind: str, default_precision: str, tile_side: Optional[int] = None
) -> List[Check]:
    """The checks of a CPU kind (its :func:`targets_for`) over one run's measurements.

    Args:
        measurements: All measurements of the run.
        kind: The CPU kind the run was made on.
        default_precision: Our default CPU precision (what ``auto`` resolves to on this machine).
        tile_side: Input side of the tiles of the tiled run (tile plus the context on both sides, see
            ``inference_benchmark.tile_side_of``); the tiled run's memory is compared with an untiled run of that size.

    Returns:
        One :class:`Check` per condition (SKIP where the run did not measure what it needs); the bf16 targets are
        left out where the default is fp32.
    """
    targets = targets_for(kind, default_precision)
    checks = [_fp32_matches_original(measurements)]

    ours_fp32 = _find(measurements, CHECK_MODEL, CHECK_SIZE, False, 'ours', 'fp32')
    original = _find(measurements, CHECK_MODEL, CHECK_SIZE, False, 'original')
    name = f'fp32 time <= {targets.fp32_max_time_ratio} x original ({CHECK_MODEL}, {CHECK_SIZE} px)'
    if ours_fp32 and original:
        ratio = ours_fp32[0].median_s / original[0].median_s
        detail = (
            f'{ratio:.3f} x = {1 / ratio:.2f}x faster ({ours_fp32[0].median_s:.2f} s vs {original[0].median_s:.2f} s)'
        )
        checks.append(_verdict(name, ratio <= targets.fp32_max_time_ratio, detail))
    else:
        checks.append(_skip(name, f'needs ours fp32 and the original at {CHECK_SIZE} px'))

    if targets.default_min_speedup is not None:
        ours_default = _find(measurements, CHECK_MODEL, CHECK_SIZE, False, 'ours', default_precision)
        name = (
            f'default precision ({default_precision}) >= {targets.default_min_speedup}x faster than original fp32 '
            f'({CHECK_MODEL}, {CHECK_SIZE} px)'
        )
        if ours_default and original:
            speedup = original[0].median_s / ours_default[0].median_s
            detail = f'{speedup:.2f}x ({ours_default[0].median_s:.2f} s vs {original[0].median_s:.2f} s)'
            checks.append(_verdict(name, speedup >= targets.default_min_speedup, detail))
        else:
            checks.append(_skip(name, f'needs ours {default_precision} and the original at {CHECK_SIZE} px'))

    for model in CHECK_MODELS:
        for size in CHECK_SIZES:
            checks.extend(_default_against_ncnn(measurements, model, size, default_precision, targets))

    for model in sorted({item.model for item in measurements}):
        for precision in sorted({item.precision for item in measurements if item.impl == 'ours'}):
            checks.append(_tiled_memory(measurements, model, precision, tile_side))
    return checks


def _fp32_matches_original(measurements: Sequence[Measurement]) -> Check:
    name = f'fp32 output vs original >= {FP32_MIN_PSNR:.0f} dB (all untiled runs)'
    originals = [item for item in measurements if item.impl == 'original' and not item.tiled and item.median_s]
    if not originals:
        return _skip(name, 'no untiled run of the original')
    worst = min(originals, key=lambda item: item.psnr if item.psnr is not None else -math.inf)
    passed = all(item.psnr is not None and item.psnr >= FP32_MIN_PSNR for item in originals)
    return _verdict(name, passed, f'lowest {_fmt(worst.psnr, 1)} dB ({worst.model} {worst.size} px)')


def _default_against_ncnn(
    measurements: Sequence[Measurement], model: str, size: int, default_precision: str, targets: Targets
) -> List[Check]:
    """Our default precision against ncnn's fastest mode on one model and size, and (bf16) its PSNR."""
    ours = _find(measurements, model, size, False, 'ours', default_precision)
    ncnn = _find(measurements, model, size, False, 'ncnn')
    minimum = targets.ncnn_min_speedup.get(size, 1.0)
    name = f'{model} {size} px: ours ({default_precision}) >= {minimum}x faster than ncnn fastest mode'
    if ours and ncnn:
        fastest = min(ncnn, key=lambda item: item.median_s)
        speedup = fastest.median_s / ours[0].median_s
        detail = f'{speedup:.2f}x ({ours[0].median_s:.3f} s vs ncnn {fastest.precision} {fastest.median_s:.3f} s)'
        checks = [_verdict(name, speedup >= minimum, detail)]
    else:
        checks = [_skip(name, f'needs ours {default_precision} and ncnn at {size} px')]
    if default_precision != 'fp32':
        name = f'{model} {size} px: ours ({default_precision}) >= {targets.default_min_psnr:.0f} dB vs our fp32'
        if ours and ours[0].psnr is not None:
            checks.append(_verdict(name, ours[0].psnr >= targets.default_min_psnr, f'{_fmt(ours[0].psnr, 1)} dB'))
        else:
            checks.append(_skip(name, f'needs ours {default_precision} and ours fp32 at {size} px'))
    return checks


def _tiled_memory(measurements: Sequence[Measurement], model: str, precision: str, tile_side: Optional[int]) -> Check:
    name = (
        f'{model} {precision}: tiled {TILED_CHECK_SIZE} px peak memory <= {TILED_MAX_MEMORY_RATIO}x '
        f'untiled at the tile size ({tile_side} px)'
    )
    tiled = _find(measurements, model, TILED_CHECK_SIZE, True, 'ours', precision)
    one_tile = _find(measurements, model, tile_side, False, 'ours', precision) if tile_side else []
    if not (tiled and one_tile):
        return _skip(name, f'needs ours {precision} untiled at {tile_side} px and tiled at {TILED_CHECK_SIZE} px')
    ratio = tiled[0].peak_rss_mib / one_tile[0].peak_rss_mib
    detail = f'{ratio:.2f}x ({tiled[0].peak_rss_mib:.0f} MiB vs {one_tile[0].peak_rss_mib:.0f} MiB)'
    whole = _find(measurements, model, TILED_CHECK_SIZE, False, 'ours', precision)
    if whole:
        detail += f'; untiled {TILED_CHECK_SIZE} px: {whole[0].peak_rss_mib:.0f} MiB'
    return _verdict(name, ratio <= TILED_MAX_MEMORY_RATIO, detail)
