"""Tables of measured values: text for the terminal, CSV, JSON and a Markdown report.

``results`` maps a method name (``bicubic``, a model name) to its :class:`Evaluation`. One method without a name
(``--sr`` against ``--gt``) gives the JSON ``{"images": {name: {metric: value}}, "mean": {metric: value}}``;
several give ``{"methods": {method: {"images": ..., "mean": ...}}}``.
"""

import csv
import io
import json
import math
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from realesrgan.evaluation.scores import Evaluation
from realesrgan.fileio.atomic import atomic_output

__all__ = ['format_value', 'markdown_report', 'results_csv', 'results_json', 'table_rows', 'text_table', 'write_text']

MEAN_ROW = 'mean'


def format_value(value: Optional[float]) -> str:
    """A value for a table: 4 decimals, ``inf``, or ``-`` when missing."""
    if value is None:
        return '-'
    return 'inf' if math.isinf(value) else f'{value:.4f}'


def _metrics(results: Dict[str, Evaluation]) -> List[str]:
    names: List[str] = []
    for evaluation in results.values():
        names += [name for name in evaluation.metrics if name not in names]
    return names


def table_rows(
    results: Dict[str, Evaluation], means_only: bool = False, cell: Callable[[Optional[float]], str] = format_value
) -> Tuple[List[str], List[List[str]]]:
    """The header and rows of the table: per image (unless ``means_only``), then the mean of each method.

    A method column is there when there is more than one method. Values are written by ``cell`` (``None`` for a
    missing one), by default :func:`format_value`.
    """
    metrics = _metrics(results)
    with_method = len(results) > 1
    header = (['method'] if with_method else []) + ['image'] + metrics
    rows = []
    for method, evaluation in results.items():
        lead = [method] if with_method else []
        images = [] if means_only else list(evaluation.images.items())
        for key, values in [*images, (MEAN_ROW, evaluation.mean)]:
            rows.append(lead + [key] + [cell(values.get(name)) for name in metrics])
    return header, rows


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1) -> str:
    """Columns aligned with spaces: the first ``text_columns`` to the left, the values to the right."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(cell).ljust(width) if index < text_columns else str(cell).rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths))
        ]
        return '  '.join(parts).rstrip()

    return '\n'.join([line(header), line(['-' * width for width in widths])] + [line(row) for row in rows])


def results_json(results: Dict[str, Evaluation], single: bool) -> str:
    """The values as JSON, full precision (``Infinity`` for the PSNR of identical images, as Python writes it).

    Args:
        results: Method -> evaluation.
        single: Write the one method's ``{"images", "mean"}`` at the top level.
    """

    def one(evaluation: Evaluation) -> dict:
        return {'images': evaluation.images, 'mean': evaluation.mean}

    if single:
        (evaluation,) = results.values()
        return json.dumps(one(evaluation), indent=2)
    return json.dumps({'methods': {method: one(evaluation) for method, evaluation in results.items()}}, indent=2)


def results_csv(results: Dict[str, Evaluation]) -> str:
    """The values as CSV, full precision: a row per image and a ``mean`` row per method."""
    header, rows = table_rows(results, cell=lambda value: '' if value is None else repr(value))
    out = io.StringIO()
    csv.writer(out, lineterminator='\n').writerows([header, *rows])
    return out.getvalue()


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join(' --- ' for _ in header) + '|']
    return '\n'.join(lines + ['| ' + ' | '.join(row) + ' |' for row in rows])


def markdown_report(
    results: Dict[str, Evaluation],
    settings: str,
    picture: Optional[str] = None,
    report_path: Optional[str] = None,
    unmatched: Sequence[Tuple[str, str]] = (),
) -> str:
    """A Markdown report: the settings, the means, the per-image values, the comparison picture, the failures.

    Args:
        results: Method -> evaluation.
        settings: One line saying what was measured and how (metrics, crop border, channel).
        picture: The comparison picture's path, or None.
        report_path: Where the report goes (the picture is linked relative to it).
        unmatched: ``(path, reason)`` of files that could not be paired.
    """
    parts = ['# Evaluation', '', settings, '', '## Mean', '', _markdown_table(*table_rows(results, means_only=True))]
    parts += ['', '## Per image', '', _markdown_table(*table_rows(results))]
    if picture:
        start = os.path.dirname(os.path.abspath(report_path)) if report_path else os.getcwd()
        link = os.path.relpath(os.path.abspath(picture), start).replace(os.sep, '/')
        parts += ['', '## Comparison', '', f'![comparison]({link})']
    problems = [(path, reason) for path, reason in unmatched]
    problems += [(f'{method}: {key}', reason) for method, ev in results.items() for key, reason in ev.failures]
    if problems:
        parts += ['', '## Not measured', ''] + [f'- {where}: {reason}' for where, reason in problems]
    return '\n'.join(parts) + '\n'


def write_text(path: str, text: str) -> None:
    """Write a text file atomically (temporary name, then rename), creating its folder."""
    with atomic_output(path) as partial, open(partial, 'w', encoding='utf-8') as file:
        file.write(text)
