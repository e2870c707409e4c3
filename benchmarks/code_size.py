"""Lines of package code per folder of ``realesrgan/``, without blank lines, comments and docstrings.

The count issue 27 asks for ("package code without docstrings and comments"): every token line of every ``.py`` file
except comments, blank lines and the docstrings of modules, classes and functions. With ``--baseline REV`` the same
count of a git revision is printed beside it.

    python benchmarks/code_size.py --baseline 440176f
"""

import argparse
import ast
import collections
import io
import os
import subprocess
import tempfile
import tokenize
from typing import Dict

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def code_lines(source: str) -> int:
    """Lines that hold code: tokens other than comments and layout, outside docstrings."""
    docstring_lines = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                docstring_lines.update(range(first.lineno, first.end_lineno + 1))
    layout = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in layout:
            lines.update(line for line in range(token.start[0], token.end[0] + 1) if line not in docstring_lines)
    return len(lines)


def count_package(package: str) -> Dict[str, int]:
    """Code lines per top folder of ``package`` (``(top)`` for its own modules)."""
    counts: Dict[str, int] = collections.Counter()
    for folder, _, files in os.walk(package):
        relative = os.path.relpath(folder, package)
        part = '(top)' if relative == '.' else relative.split(os.sep)[0]
        for name in files:
            if name.endswith('.py'):
                with open(os.path.join(folder, name), encoding='utf-8') as file:
                    counts[part] += code_lines(file.read())
    return counts


def count_revision(revision: str) -> Dict[str, int]:
    """:func:`count_package` of ``realesrgan/`` as it is at a git revision."""
    with tempfile.TemporaryDirectory() as work:
        archive = subprocess.run(
            ['git', 'archive', revision, 'realesrgan'], cwd=REPO_ROOT, check=True, capture_output=True
        )
        subprocess.run(['tar', '-x', '-C', work], input=archive.stdout, check=True)
        return count_package(os.path.join(work, 'realesrgan'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--baseline', default=None, help='git revision to count beside this checkout')
    args = parser.parse_args()
    now = count_package(os.path.join(REPO_ROOT, 'realesrgan'))
    before = count_revision(args.baseline) if args.baseline else {}
    print(f'{"folder":12s} {args.baseline or "":>10s} {"now":>8s}')
    for part in sorted(set(now) | set(before)):
        print(f'{part:12s} {before.get(part, "-") if before else "":>10} {now.get(part, "-"):>8}')
    print(f'{"total":12s} {sum(before.values()) if before else "":>10} {sum(now.values()):>8}')


if __name__ == '__main__':
    main()
