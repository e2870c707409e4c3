"""Measure super-resolution quality: the engine behind ``scripts/evaluate.py``.

Two ways in:

* outputs you already have (``sr``) against their GT images (``gt``), matched by name with the ``_<suffix>`` rule
  of the command line;
* low-quality inputs (``lq``): each method (``bicubic`` and every model, upscaled through ``RealESRGANer`` with the
  same engine settings as the command line) writes its outputs to ``<output>/<method>/``, which are then measured
  against ``gt`` (or with no-reference metrics alone when there is no GT).

Everything that can be checked before the work is checked first (:class:`EvaluateJobError`); then a file that
cannot be read, paired, upscaled or measured gets a one-line reason and the rest goes on.
"""

import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
from tqdm import tqdm

from realesrgan.evaluation.comparison import ComparisonRow, comparison_picture
from realesrgan.evaluation.pairs import ImagePair, image_key, match_images, read_for_metrics
from realesrgan.evaluation.report import format_value, markdown_report, results_csv, results_json, write_text
from realesrgan.evaluation.scores import Evaluation, evaluate_pairs
from realesrgan.execution.job import JobSetupError, reported_as
from realesrgan.fileio.atomic import check_writable
from realesrgan.fileio.images import list_images, read_image, write_image
from realesrgan.inference.model_choice import choose_model
from realesrgan.inference.recipe import ImageUpscaler, UpscalerRecipe, describe_engine
from realesrgan.inference.settings import UpscaleSettings
from realesrgan.metrics import LPIPSUnavailableError, Metric, PyiqaUnavailableError, get_metric

__all__ = ['BICUBIC', 'EvaluateJob', 'EvaluateJobError', 'EvaluateResult', 'bicubic_upscale', 'run_evaluate_job']

BICUBIC = 'bicubic'
DEFAULT_OUTSCALE = 4.0


class EvaluateJobError(JobSetupError):
    """The evaluation cannot start; the message says what was wrong and what to do."""


@dataclass(frozen=True)
class EvaluateJob:
    """An evaluation run: the flags of ``scripts/evaluate.py`` (see its ``--help``).

    Attributes:
        sr: Folder of outputs to measure (first way), or None.
        lq: Folder of low-quality inputs to upscale (second way), or None.
        gt: Folder of GT images, or None (no-reference metrics only).
        models: Model names or checkpoint files to upscale ``lq`` with (bicubic is always added first).
        metrics: Metric names; empty for the default (``psnr ssim`` with GT, ``niqe`` without).
        crop_border: Pixels cut from each border before measuring.
        y_channel: PSNR and SSIM on the Y channel of YCbCr.
        suffix: The outputs' suffix: ``<name>_<suffix>.png``.
        output: Folder of the upscaled outputs (``<output>/<method>/``) and, by default, of the picture and report.
        csv: CSV file to write, or None.
        json: JSON file to write, or None.
        picture: Comparison picture to write (PNG); None for ``<output>/comparison.png`` when upscaling, none else.
        report: Markdown report to write; None for ``<output>/report.md`` when upscaling, none else.
        picture_images: How many images the picture shows.
        crop_size: Side of the crop shown, in output pixels.
        lpips_net: LPIPS backbone.
        denoise_strength: For realesr-general-x4v3 (as ``-dn`` of the command line).
        weights_dir: Folder of downloaded and converted weights (models, LPIPS backbone).
        settings: The engine settings, as those of the command line.
    """

    sr: Optional[str] = None
    lq: Optional[str] = None
    gt: Optional[str] = None
    models: Tuple[str, ...] = ()
    metrics: Tuple[str, ...] = ()
    crop_border: int = 0
    y_channel: bool = False
    suffix: str = 'out'
    output: str = os.path.join('results', 'evaluate')
    csv: Optional[str] = None
    json: Optional[str] = None
    picture: Optional[str] = None
    report: Optional[str] = None
    picture_images: int = 3
    crop_size: int = 64
    lpips_net: str = 'alex'
    denoise_strength: float = 0.5
    weights_dir: Optional[str] = None
    settings: UpscaleSettings = field(default_factory=UpscaleSettings)

    @property
    def metric_names(self) -> Tuple[str, ...]:
        """The metrics asked for, or the default ones."""
        if self.metrics:
            return self.metrics
        return ('psnr', 'ssim') if self.gt else ('niqe',)

    @property
    def picture_path(self) -> Optional[str]:
        """Where the comparison picture goes, or None."""
        return self.picture or (os.path.join(self.output, 'comparison.png') if self.lq else None)

    @property
    def report_path(self) -> Optional[str]:
        """Where the Markdown report goes, or None."""
        return self.report or (os.path.join(self.output, 'report.md') if self.lq else None)

    def describe_settings(self) -> str:
        """One line: what is measured, and how."""
        channel = 'Y channel (YCbCr)' if self.y_channel else 'RGB'
        return (
            f'Metrics: {", ".join(self.metric_names)}; PSNR/SSIM on {channel}; crop_border {self.crop_border}; '
            f'images matched by name (outputs <name>_{self.suffix}).'
        )


@dataclass
class EvaluateResult:
    """What a run measured and wrote.

    Attributes:
        results: Method -> its values (one unnamed method when measuring ``sr``).
        unmatched: ``(path, reason)`` of files that could not be paired or upscaled.
        written: Files written (CSV, JSON, picture, report).
    """

    results: Dict[str, Evaluation]
    unmatched: List[Tuple[str, str]] = field(default_factory=list)
    written: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every file was paired and every value measured."""
        return not self.unmatched and not any(evaluation.failures for evaluation in self.results.values())

    def problems(self) -> List[str]:
        """One line per file or value that was not measured."""
        lines = [f'{path}: {reason}' for path, reason in self.unmatched]
        for method, evaluation in self.results.items():
            prefix = f'{method}: ' if len(self.results) > 1 else ''
            lines += [f'{prefix}{key}: {reason}' for key, reason in evaluation.failures]
        return lines


def _check_job(job: EvaluateJob) -> None:
    if bool(job.sr) == bool(job.lq):
        raise EvaluateJobError('Give either --sr (outputs to measure) or --lq (inputs to upscale), not both or none.')
    if job.sr and job.models:
        raise EvaluateJobError('-n/--model_name upscales --lq images; with --sr the outputs are measured as they are.')
    for flag, folder in (('--sr', job.sr), ('--lq', job.lq), ('--gt', job.gt)):
        if folder and not os.path.isdir(folder):
            raise EvaluateJobError(f'{flag} "{folder}" is not a folder: give the folder of the images.')
    for flag, value, minimum in (
        ('--crop_border', job.crop_border, 0),
        ('--picture_images', job.picture_images, 0),
        ('--crop_size', job.crop_size, 1),
    ):
        if value < minimum:
            raise EvaluateJobError(f'{flag} must be at least {minimum}, got {value}.')
    for flag, path in (('--csv', job.csv), ('--json', job.json), ('--picture', job.picture), ('--report', job.report)):
        if path:
            try:
                check_writable(path)
            except OSError as error:
                raise EvaluateJobError(f'{flag}: {error}; choose another file.') from None


def _build_metrics(job: EvaluateJob) -> List[Metric]:
    device = str(job.settings.device) if str(job.settings.device) != 'auto' else 'cpu'
    metrics = []
    for name in job.metric_names:
        try:
            metric = get_metric(
                name,
                job.crop_border,
                job.y_channel,
                lpips_net=job.lpips_net,
                weights_dir=job.weights_dir,
                device=device,
            )
        except (ValueError, LPIPSUnavailableError, PyiqaUnavailableError) as error:
            raise EvaluateJobError(f'--metrics {name}: {error}') from None
        if metric.full_reference and not job.gt:
            raise EvaluateJobError(f'--metrics {name} compares with GT images: give them with --gt, or leave it out.')
        metrics.append(metric)
    return metrics


def bicubic_upscale(img: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB's bicubic ``imresize`` (BasicSR's copy), the baseline of super-resolution papers.

    Args:
        img: (H, W) or (H, W, C) image, uint8 or uint16.
        scale: The factor.

    Returns:
        The resized image, same dtype.
    """
    from basicsr.utils.matlab_functions import imresize  # after realesrgan, which makes BasicSR importable

    peak = 65535.0 if img.dtype == np.uint16 else 255.0
    squeeze = img.ndim == 2
    source = img[..., None] if squeeze else img
    out = imresize(source.astype(np.float64) / peak, scale)
    out = np.clip(np.round(out * peak), 0, peak).astype(img.dtype)
    return out[..., 0] if squeeze else out


def _methods(job: EvaluateJob) -> List[Tuple[str, Optional[ImageUpscaler]]]:
    """``(label, upscaler)`` per method; bicubic first (its upscaler is None)."""
    methods: List[Tuple[str, Optional[ImageUpscaler]]] = [(BICUBIC, None)]
    for entry in job.models:
        is_file = os.path.isfile(entry)
        with reported_as(EvaluateJobError):
            choice = choose_model(
                None if is_file else entry, entry if is_file else None, job.denoise_strength, job.weights_dir
            )
            upscaler = UpscalerRecipe(choice, job.settings, weights_dir=job.weights_dir).build()
        label = os.path.splitext(os.path.basename(entry))[0] if is_file else choice.name
        if any(label == known for known, _ in methods):
            raise EvaluateJobError(f'-n names {label} twice: give each model once.')
        methods.append((label, upscaler))
    return methods


def _upscale_all(
    job: EvaluateJob,
    lq_paths: Dict[str, str],
    method: str,
    upscaler: Optional[ImageUpscaler],
    outscale: float,
    unmatched: List[Tuple[str, str]],
    progress: bool,
) -> Dict[str, str]:
    """Upscale every LQ image with one method into ``<output>/<method>/``; key -> written path."""
    written = {}
    folder = os.path.join(job.output, method)
    for key, path in tqdm(lq_paths.items(), unit='image', desc=method, disable=not progress, leave=False):
        try:
            img = read_image(path)
            out = bicubic_upscale(img, outscale) if upscaler is None else upscaler(img)
            target = os.path.join(folder, f'{key}_{job.suffix}.png' if job.suffix else f'{key}.png')
            write_image(target, out)
        except Exception as error:  # noqa: BLE001 (one image fails, with its reason; the run goes on)
            unmatched.append((path, f'{method}: {" ".join(str(error).split()) or type(error).__name__}'))
            continue
        written[key] = target
    return written


def _picture(job: EvaluateJob, result: EvaluateResult, outputs: Dict[str, Dict[str, str]], gts: Dict[str, str]) -> None:
    """Write the comparison picture for the first images that every method has."""
    path = job.picture_path
    if not path or job.picture_images == 0:
        return
    keys = sorted(set.intersection(*(set(paths) for paths in outputs.values())))
    if job.gt:
        keys = [key for key in keys if key in gts]
    rows = []
    for key in keys[: job.picture_images]:
        cells = []
        for method, paths in outputs.items():
            value = result.results[method].images.get(key, {})
            first = next(iter(value.items()), None)
            label = f'{method} {format_value(first[1])}' if first else method
            cells.append((label, read_for_metrics(paths[key])))
        if job.gt:
            cells.append(('GT', read_for_metrics(gts[key])))
        rows.append(ComparisonRow(key, cells))
    if rows:
        write_image(path, comparison_picture(rows, crop_size=job.crop_size))
        result.written.append(path)


def _measure_outputs(job: EvaluateJob, metrics: List[Metric], progress: bool) -> Tuple[EvaluateResult, Dict, Dict]:
    """The first way: measure ``sr`` against ``gt``."""
    with reported_as(EvaluateJobError):
        matching = match_images(job.sr, job.gt, job.suffix)
    if not matching.pairs:
        if not job.gt:
            raise EvaluateJobError(f'--sr "{job.sr}" holds no image.')
        raise EvaluateJobError(
            f'No image of --sr "{job.sr}" has a GT image of the same name in "{job.gt}" (outputs are named '
            f'<name>_{job.suffix}.*; set --suffix to match yours).'
        )
    method = os.path.basename(os.path.normpath(job.sr))
    evaluation = evaluate_pairs(matching.pairs, metrics, progress)
    result = EvaluateResult({method: evaluation}, list(matching.unmatched))
    outputs = {method: {pair.key: pair.image for pair in matching.pairs}}
    gts = {pair.key: pair.gt for pair in matching.pairs if pair.gt}
    return result, outputs, gts


def _upscale_and_measure(
    job: EvaluateJob, metrics: List[Metric], log: Callable[[str], None], progress: bool
) -> Tuple[EvaluateResult, Dict, Dict]:
    """The second way: upscale ``lq`` with each method, then measure against ``gt``."""
    unmatched: List[Tuple[str, str]] = []
    with reported_as(EvaluateJobError):
        lq_names = list_images(job.lq)
        gt_names = list_images(job.gt) if job.gt else []
    lq_paths = {image_key(name): os.path.join(job.lq, name) for name in lq_names}
    gts = {image_key(name): os.path.join(job.gt, name) for name in gt_names}
    if job.gt:
        unmatched += [
            (path, f'no GT image named {key}.* in {job.gt}') for key, path in lq_paths.items() if key not in gts
        ]
        lq_paths = {key: path for key, path in lq_paths.items() if key in gts}
    if not lq_paths:
        where = f' with a GT image of the same name in "{job.gt}"' if job.gt else ''
        raise EvaluateJobError(f'--lq "{job.lq}" holds no image{where}.')
    methods = _methods(job)
    upscalers = [upscaler for _, upscaler in methods if upscaler is not None]
    if upscalers:
        first = upscalers[0]
        log(describe_engine(first.upsampler.device, first.upsampler.precision, job.settings.precision))
    outscale = upscalers[0].outscale if upscalers else (job.settings.outscale or DEFAULT_OUTSCALE)
    results: Dict[str, Evaluation] = {}
    outputs: Dict[str, Dict[str, str]] = {}
    for method, upscaler in methods:
        outputs[method] = _upscale_all(job, lq_paths, method, upscaler, outscale, unmatched, progress)
        pairs = [ImagePair(key, path, gts.get(key)) for key, path in outputs[method].items()]
        results[method] = evaluate_pairs(pairs, metrics, progress, description=f'measuring {method}')
    return EvaluateResult(results, unmatched), outputs, gts


def run_evaluate_job(
    job: EvaluateJob, log: Callable[[str], None] = tqdm.write, progress: bool = True
) -> EvaluateResult:
    """Measure (and first upscale, with ``lq``) as the job says, and write the files it asks for.

    Args:
        job: The options.
        log: Receives the device and precision line when models run.
        progress: Show progress bars.

    Returns:
        The values, the files not measured with their reasons, and the files written.

    Raises:
        EvaluateJobError: The run cannot start (bad option, missing folder, unknown metric or model, LPIPS or pyiqa
            unavailable, missing weights, no image to measure).
    """
    _check_job(job)
    metrics = _build_metrics(job)
    if job.sr:
        result, outputs, gts = _measure_outputs(job, metrics, progress)
    else:
        result, outputs, gts = _upscale_and_measure(job, metrics, log, progress)
    single = bool(job.sr)
    for path, text in ((job.csv, results_csv(result.results)), (job.json, results_json(result.results, single))):
        if path:
            write_text(path, text)
            result.written.append(path)
    _picture(job, result, outputs, gts)
    report = job.report_path
    if report:
        picture = job.picture_path if job.picture_path in result.written else None
        write_text(report, markdown_report(result.results, job.describe_settings(), picture, report, result.unmatched))
        result.written.append(report)
    return result
