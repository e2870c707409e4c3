"""Validation that cannot silently go wrong: a warning when a score falls from its best, and the best generator kept.

Fine-tunes can degrade without anything in the log looking wrong: the losses still fall while the held-out scores
slide. :class:`ValidationWatch` follows each metric of each validation dataset across validations; a score that falls
by more than its ``val.drop_margin`` from its best is logged as a warning, and with ``val.save_best`` the generator of
the best validation (by ``val.best_metric``, by default the first metric listed) is saved as
``models/net_g_best.pth``, in the layout of the other checkpoints. The records are kept in
``models/validation_best.json``, so a resumed run (``--auto_resume``) keeps comparing with the best before it.

Options (``val`` section)::

    save_best: true      # keep models/net_g_best.pth
    best_metric: psnr    # with save_best: the metric that decides the best validation (default: the first metric)
    drop_margin:         # warn when a metric falls more than this below its best (above it, for better: lower)
      psnr: 0.5
      ssim: 0.02

A metric's direction is BasicSR's ``better`` key of its ``val.metrics`` entry (``higher`` by default).
"""

import json
import logging
import math
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from basicsr.utils import get_root_logger

from realesrgan.fileio.atomic import atomic_output
from realesrgan.models.checkpoint_files import WholeCheckpointsMixin

__all__ = ['WATCH_KEYS', 'BEST_LABEL', 'RECORDS_FILE', 'MetricBest', 'ValidationWatch', 'ValidationWatchMixin']

WATCH_KEYS = frozenset({'save_best', 'best_metric', 'drop_margin'})
"""The ``val`` keys this module reads."""
BEST_LABEL = 'best'
"""Checkpoint label of the best generator: ``net_g_best.pth``."""
RECORDS_FILE = 'validation_best.json'
"""File in the models folder that keeps the best scores across resumes."""


@dataclass
class MetricBest:
    """The best score of one metric on one dataset so far, and the iteration it was reached at."""

    value: float
    iteration: int


@dataclass
class ValidationWatch:
    """Follows the validation scores of a run: best per (dataset, metric), drops beyond a margin, the best checkpoint.

    Args:
        directions: Metric name to ``'higher'`` or ``'lower'`` (which is better).
        margins: Metric name to the drop from its best that is warned about; metrics not listed are not watched.
        best_metric: Metric that decides the best validation (``save_best``), or None to keep no best checkpoint.
        records_path: JSON file the best scores are kept in (read at start, written after each change), or None.
    """

    directions: Dict[str, str]
    margins: Dict[str, float] = field(default_factory=dict)
    best_metric: Optional[str] = None
    records_path: Optional[str] = None
    best: Dict[str, Dict[str, MetricBest]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, direction in self.directions.items():
            if direction not in ('higher', 'lower'):
                raise ValueError(f'val.metrics.{name}.better is {direction!r}; use higher or lower')
        for name, margin in self.margins.items():
            if name not in self.directions:
                raise ValueError(
                    f'val.drop_margin.{name} names no metric of val.metrics ({", ".join(self.directions) or "none"})'
                )
            if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not margin >= 0:
                raise ValueError(f'val.drop_margin.{name} is {margin!r}; it must be a number of at least 0')
        if self.best_metric is not None and self.best_metric not in self.directions:
            raise ValueError(
                f'val.best_metric is {self.best_metric!r}; use one of the metrics of val.metrics '
                f'({", ".join(self.directions) or "none"})'
            )
        if self.records_path and os.path.isfile(self.records_path):
            with open(self.records_path, encoding='utf-8') as file:
                stored = json.load(file)
            self.best = {
                dataset: {name: MetricBest(float(row['value']), int(row['iteration'])) for name, row in rows.items()}
                for dataset, rows in stored.items()
            }

    @classmethod
    def from_options(cls, val_opt: Mapping[str, Any], models_dir: Optional[str]) -> 'ValidationWatch':
        """The watch a ``val`` options section asks for.

        Args:
            val_opt: The ``val`` section (``metrics``, ``save_best``, ``best_metric``, ``drop_margin``).
            models_dir: The run's models folder (checkpoints and the records file), or None to keep no records.

        Returns:
            The watch; it follows the best checkpoint only with ``save_best``.

        Raises:
            ValueError: A margin, best metric or direction that does not fit the metrics, as one line.
        """
        metrics = val_opt.get('metrics') or {}
        directions = {str(name): str((opt or {}).get('better', 'higher')) for name, opt in metrics.items()}
        margins = val_opt.get('drop_margin') or {}
        if not isinstance(margins, Mapping):
            raise ValueError(f'val.drop_margin is {margins!r}; give one margin per metric, e.g. {{psnr: 0.5}}')
        best_metric = None
        if val_opt.get('save_best'):
            best_metric = val_opt.get('best_metric') or next(iter(directions), None)
            if best_metric is None:
                raise ValueError('val.save_best needs a metric to compare validations: add val.metrics (e.g. psnr)')
        records = os.path.join(models_dir, RECORDS_FILE) if models_dir else None
        return cls(directions, {str(k): v for k, v in margins.items()}, best_metric, records)

    def _is_better(self, name: str, value: float, than: float) -> bool:
        return value > than if self.directions[name] == 'higher' else value < than

    def update(self, dataset: str, scores: Mapping[str, float], iteration: int) -> List[str]:
        """Take one validation's scores; returns the warnings about drops (one line each).

        Args:
            dataset: Name of the validation dataset.
            scores: Metric name to this validation's score.
            iteration: The iteration the validated weights come from.

        Returns:
            The warning lines; empty when no watched metric fell by more than its margin.
        """
        rows = self.best.setdefault(dataset, {})
        warnings = []
        for name, value in scores.items():
            value = float(value)
            if name not in self.directions or not math.isfinite(value):
                if name in self.directions:
                    warnings.append(f'validation {dataset}: {name} is {value} at iteration {iteration}')
                continue
            best = rows.get(name)
            if best is None or self._is_better(name, value, best.value) or value == best.value:
                rows[name] = MetricBest(value, iteration)
                continue
            drop = abs(best.value - value)
            if name in self.margins and drop > self.margins[name]:
                kept = (
                    f'; the best generator is kept as models/net_g_{BEST_LABEL}.pth'
                    if self.best_metric is not None
                    else ''
                )
                warnings.append(
                    f'validation {dataset}: {name} {value:.4f} at iteration {iteration} is {drop:.4f} '
                    f'{"below" if self.directions[name] == "higher" else "above"} its best {best.value:.4f} '
                    f'(iteration {best.iteration}), more than drop_margin {self.margins[name]:g}: training is making '
                    f'the model worse on held-out data{kept}'
                )
        self._write_records()
        return warnings

    def is_best(self, dataset: str, iteration: int) -> bool:
        """Whether the validation of ``iteration`` holds the best score of the best metric on ``dataset``."""
        best = self.best.get(dataset, {}).get(self.best_metric) if self.best_metric else None
        return best is not None and best.iteration == iteration

    def _write_records(self) -> None:
        if not self.records_path:
            return
        payload = {
            dataset: {name: {'value': best.value, 'iteration': best.iteration} for name, best in rows.items()}
            for dataset, rows in self.best.items()
        }
        with atomic_output(self.records_path) as temporary, open(temporary, 'w', encoding='utf-8') as file:
            json.dump(payload, file, indent=1)


class ValidationWatchMixin(WholeCheckpointsMixin):
    """Adds :class:`ValidationWatch` to a BasicSR model's ``validation``: drop warnings and ``net_g_best.pth``.

    Only with ``val.save_best`` or ``val.drop_margin``, and on the first process only (BasicSR validates there).
    Checkpoints are written whole (:class:`~realesrgan.models.checkpoint_files.WholeCheckpointsMixin`).
    The models of this package get it through :class:`~realesrgan.models.training_mixin.SyntheticTrainingMixin`.
    """

    opt: Dict[str, Any]

    def validation(self, dataloader: Any, current_iter: Any, tb_logger: Any, save_img: bool = False) -> None:
        """BasicSR's validation, then the watch: warnings for drops, the best generator saved.

        Args:
            dataloader: Validation data loader.
            current_iter: The iteration of the validated weights.
            tb_logger: Tensorboard logger, or None.
            save_img: Whether to save the output images.
        """
        super().validation(dataloader, current_iter, tb_logger, save_img)  # type: ignore[misc]
        val_opt = self.opt.get('val') or {}
        scores = getattr(self, 'metric_results', None)
        watched = val_opt.get('save_best') or val_opt.get('drop_margin')
        if not watched or not scores or self.opt.get('rank', 0) != 0 or not isinstance(current_iter, int):
            return
        watch = getattr(self, '_validation_watch', None)
        if watch is None:
            watch = ValidationWatch.from_options(val_opt, self.opt['path'].get('models'))
            self._validation_watch = watch
        dataset = dataloader.dataset.opt['name']
        logger = get_root_logger()
        for line in watch.update(dataset, scores, current_iter):
            logger.warning(line)
        if val_opt.get('save_best') and watch.is_best(dataset, current_iter):
            self._save_best_generator(logger, dataset, current_iter)

    def _save_best_generator(self, logger: logging.Logger, dataset: str, current_iter: int) -> None:
        """Save the generator (and its EMA) as ``net_g_best.pth`` (written whole by the model's ``save_network``)."""
        if hasattr(self, 'net_g_ema'):
            self.save_network([self.net_g, self.net_g_ema], 'net_g', BEST_LABEL, param_key=['params', 'params_ema'])
        else:
            self.save_network(self.net_g, 'net_g', BEST_LABEL)
        logger.info(f'Best validation on {dataset} so far (iteration {current_iter}): saved models/net_g_best.pth')
