"""Plain-text tables for the benchmarks' printed reports."""

from typing import Sequence

__all__ = ['format_table']


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
