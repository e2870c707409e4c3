"""The documents stay true where drift would mislead a reader: README.md, README_KR.md, docs/*.md, *_context.md.

What is checked (the rules for writers are in docs/testing.md, "The doc test"):

* every fenced ``bash``, ``python`` and ``yaml`` block parses;
* every command in a bash block that calls one of this project's command lines, scripts or benchmarks is parsed by
  that program's real argument parser; ``pytest -m`` expressions name declared markers; ``.[extra]`` names an extra;
* a flag written alone in the prose exists in one of the project's parsers;
* ``from realesrgan... import X`` in python blocks imports, and blocks marked ``runnable`` run;
* relative links resolve;
* README.md stays short, and each English document and its Korean twin have the same sections and the same code;
* Korean documents give a term of docs/terms.md its English term in parentheses on first use;
* the layout tree of docs/architecture.md names exactly the folders of ``realesrgan/``.

File and class names in the prose are deliberately not checked: a file move must not cost an edit in every document.
"""

import argparse
import ast
import contextlib
import importlib
import io
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Tuple
from unittest import mock

import pytest
import yaml
from helpers import REPO_ROOT

README_MAX_LINES = 350
SKIPPED_FOLDERS = frozenset({'.git', 'node_modules', 'weights', 'results', 'experiments', 'datasets'})


def _documents() -> Tuple[str, ...]:
    guides = sorted(
        path.relative_to(REPO_ROOT).as_posix()
        for path in REPO_ROOT.rglob('*_context.md')
        if not any(part.startswith('.') or part in SKIPPED_FOLDERS for part in path.relative_to(REPO_ROOT).parts)
    )
    pages = sorted(f'docs/{path.name}' for path in (REPO_ROOT / 'docs').glob('*.md'))
    return ('README.md', 'README_KR.md', *pages, *guides)


DOCS = _documents()
TWINS = [('README.md', 'README_KR.md')] + [
    (page, page[: -len('.md')] + '_KR.md')
    for page in DOCS
    if page.startswith('docs/') and not page.endswith('_KR.md') and (REPO_ROOT / (page[:-3] + '_KR.md')).is_file()
]
KOREAN_DOCS = tuple(doc for doc in DOCS if doc.endswith(('_KR.md', '_context.md')))

LANGUAGES = {'bash': 'bash', 'sh': 'bash', 'shell': 'bash', 'python': 'python', 'py': 'python', 'yaml': 'yaml'}
BLOCK_FLAGS = frozenset({'runnable', 'slow', 'weights'})
FENCE = re.compile(r'^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$')
SPAN = re.compile(r'(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)')
LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')
HEADING = re.compile(r'^(#{1,6}) ', re.M)
FLAG = re.compile(r'--?[A-Za-z][\w-]*')
# the root scripts and the installed commands that stand for them
COMMANDS = {
    'inference_realesrgan.py': 'inference_realesrgan.py',
    'realesrgan': 'inference_realesrgan.py',
    'inference_realesrgan_video.py': 'inference_realesrgan_video.py',
    'realesrgan-video': 'inference_realesrgan_video.py',
    'app.py': 'app.py',
    'realesrgan-web': 'app.py',
}
TRAIN = 'realesrgan/train.py'
# flags of other programs that the prose names: torchrun's rendezvous, the --local-rank=N of older launchers (which
# realesrgan/train.py turns into LOCAL_RANK before BasicSR parses), chromium's headless mode
OTHER_PROGRAMS_FLAGS = frozenset({'--nproc_per_node', '--nnodes', '--rdzv_backend', '--rdzv_endpoint', '--rdzv_id'})
OTHER_PROGRAMS_FLAGS |= {'--local-rank', '--headless', '--screenshot'}


@dataclass(frozen=True)
class Block:
    """One fenced code block."""

    doc: str
    line: int
    lang: str
    flags: FrozenSet[str]
    code: str

    @property
    def where(self) -> str:
        return f'{self.doc}:{self.line}'


@dataclass(frozen=True)
class Doc:
    """A Markdown document: its fenced blocks, and its prose (the blocks blanked, line numbers kept)."""

    path: str
    text: str
    blocks: Tuple[Block, ...]
    prose: str


@lru_cache(maxsize=None)
def document(path: str) -> Doc:
    text = (REPO_ROOT / path).read_text(encoding='utf-8')
    lines = text.splitlines()
    prose, blocks, index = list(lines), [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence, indent, words = opening.group('fence'), len(opening.group('indent')), opening.group('info').split()
        end = index + 1
        while end < len(lines) and not re.match(rf'^ *{re.escape(fence[0])}{{{len(fence)},}}\s*$', lines[end]):
            end += 1
        body = '\n'.join(line[indent:] for line in lines[index + 1 : end]) + '\n'
        lang = LANGUAGES.get(words[0].lower(), words[0].lower()) if words else ''
        blocks.append(Block(path, index + 1, lang, frozenset(words[1:]), body))
        prose[index : end + 1] = [''] * (min(end + 1, len(lines)) - index)
        index = end + 1
    return Doc(path, text, tuple(blocks), '\n'.join(prose))


def blocks_of(path: str, lang: str) -> List[Block]:
    return [block for block in document(path).blocks if block.lang == lang]


# ------------------------------------------------------------------------------------------ the real parsers
class _ParserCaughtError(Exception):
    """Raised instead of parsing: carries the parser a program built."""


@lru_cache(maxsize=None)
def parser_of(program: str) -> Optional[argparse.ArgumentParser]:
    """The argument parser ``program`` (a path from the repository root) builds, caught as it starts to parse."""

    def capture(parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        raise _ParserCaughtError(parser)

    saved_argv, saved_path, saved_modules = sys.argv[:], sys.path[:], set(sys.modules)
    folder = str((REPO_ROOT / program).parent)
    patches = [mock.patch.object(argparse.ArgumentParser, name, capture) for name in ('parse_args', 'parse_known_args')]
    try:
        with contextlib.ExitStack() as stack, contextlib.redirect_stdout(io.StringIO()):
            for patch in patches:
                stack.enter_context(patch)
            if program == TRAIN:  # train.py hands its command line to BasicSR's parse_options
                from basicsr.utils.options import parse_options

                parse_options(str(REPO_ROOT), is_train=True)
            else:
                sys.argv = [str(REPO_ROOT / program), '--help']
                sys.path.insert(0, folder)  # as Python does for a script: its sibling modules import
                runpy.run_path(str(REPO_ROOT / program), run_name='__main__')
    except _ParserCaughtError as captured:
        return captured.args[0]
    except BaseException:  # noqa: BLE001 (a program that does not parse its flags with argparse)
        return None
    finally:
        sys.argv[:], sys.path[:] = saved_argv, saved_path
        if program.startswith(('scripts/', 'benchmarks/')):  # their sibling helpers must not shadow other modules
            for name in set(sys.modules) - saved_modules:
                if str(getattr(sys.modules[name], '__file__', None) or '').startswith(folder + os.sep):
                    del sys.modules[name]
    return None


def _ast_flags(path: Path) -> FrozenSet[str]:
    """The option strings of every ``add_argument`` call of a file."""
    flags = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == 'add_argument':
            flags.update(arg.value for arg in node.args if isinstance(arg, ast.Constant) and str(arg.value)[:1] == '-')
    return frozenset(flags)


@lru_cache(maxsize=None)
def known_flags() -> FrozenSet[str]:
    """Every flag of the project's parsers (read from the code, wherever it lives), BasicSR's and pytest's."""
    import basicsr.utils.options
    from _pytest.config import get_config

    files = [Path(basicsr.utils.options.__file__), *REPO_ROOT.glob('*.py')]
    files += [
        path
        for folder in ('realesrgan', 'scripts', 'benchmarks')
        for path in (REPO_ROOT / folder).rglob('*.py')
        if not any(part.startswith('.') for part in path.relative_to(REPO_ROOT).parts)  # not benchmarks/.venv-original
    ]
    pytest_parser = get_config()._parser
    options = [option for group in pytest_parser._groups for option in group.options] + pytest_parser._anonymous.options
    pytest_names = {name for option in options for name in option.names()}
    return frozenset().union(*(_ast_flags(path) for path in files), pytest_names, {'-h', '--help'})


@lru_cache(maxsize=None)
def markers() -> FrozenSet[str]:
    text = (REPO_ROOT / 'pyproject.toml').read_text(encoding='utf-8')
    return frozenset(re.findall(r'"(\w+):', re.search(r'markers = \[(.*?)\]', text, re.S).group(1)))


@lru_cache(maxsize=None)
def extras() -> FrozenSet[str]:
    for node in ast.walk(ast.parse((REPO_ROOT / 'setup.py').read_text(encoding='utf-8'))):
        if isinstance(node, ast.keyword) and node.arg == 'extras_require' and isinstance(node.value, ast.Dict):
            return frozenset(key.value for key in node.value.keys)
    raise AssertionError('setup.py has no extras_require')


# ------------------------------------------------------------------------------------------ commands
def commands(code: str) -> List[List[str]]:
    """The simple commands of a bash block, as tokens (comments, continuations and ``&&``/``;``/``|`` split)."""
    found = []
    for line in re.sub(r'\\\n', ' ', code).splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=';&|')
        lexer.whitespace_split, lexer.commenters = True, '#'
        current: List[str] = []
        for token in lexer:
            if set(token) <= set(';&|'):
                found.append(current)
                current = []
            else:
                current.append(token)
        found.append(current)
    return [tokens for tokens in found if tokens]


def program_of(tokens: List[str]) -> Optional[Tuple[str, List[str]]]:
    """``(program, its arguments)`` when the command runs one of this project's programs."""
    for index, token in enumerate(tokens):
        if index == 0 and token in COMMANDS:
            return COMMANDS[token], tokens[1:]
        if token == '-m' and tokens[index + 1 : index + 2] == ['realesrgan.train']:
            return TRAIN, tokens[index + 2 :]
        if token.endswith('.py'):
            path = token[2:] if token.startswith('./') else token
            if path in COMMANDS or path.split('/')[0] in ('scripts', 'benchmarks', 'realesrgan'):
                return COMMANDS.get(path, path), tokens[index + 1 :]
            return None
    return None


def command_problems(tokens: List[str]) -> List[str]:
    problems = []
    for token in tokens:
        extra = re.fullmatch(r'\.\[([\w,]+)\]|.*\.whl\[([\w,]+)\]', token)
        if extra:
            names = (extra.group(1) or extra.group(2)).split(',')
            problems += [f'setup.py has no extra {name}' for name in names if name not in extras()]
    if 'pytest' in tokens and '-m' in tokens[tokens.index('pytest') :]:
        expression = tokens[tokens.index('-m', tokens.index('pytest')) + 1]
        problems += [
            f'no marker {word}'
            for word in re.findall(r'\w+', expression)
            if word not in markers() | {'and', 'or', 'not'}
        ]
    found = program_of(tokens)
    if not found:
        return problems
    program, arguments = found
    if not (REPO_ROOT / program).is_file():
        return problems + [f'no such program {program}']
    parser = parser_of(program)
    if parser is None:
        return problems + [f'{program} builds no argument parser that could be caught']
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(arguments)
    except SystemExit as stop:
        if stop.code:
            problems.append(f'{program} rejects {shlex.join(arguments)}: {errors.getvalue().strip().splitlines()[-1]}')
    return problems


# ------------------------------------------------------------------------------------------ the tests
@pytest.mark.parametrize('path', DOCS)
def test_blocks_parse(path):
    problems = []
    for block in document(path).blocks:
        if block.lang not in ('bash', 'python', 'yaml'):
            continue
        if block.flags - BLOCK_FLAGS:
            problems.append(f'{block.where}: unknown info word(s) {" ".join(sorted(block.flags - BLOCK_FLAGS))}')
        if block.lang == 'python':
            try:
                ast.parse(block.code)
            except SyntaxError as error:
                problems.append(f'{block.where}: {error}')
        elif block.lang == 'yaml':
            try:
                yaml.safe_load(block.code)
            except yaml.YAMLError as error:
                problems.append(f'{block.where}: {" ".join(str(error).split())}')
        else:
            result = subprocess.run(['bash', '-n'], input=block.code, capture_output=True, text=True)
            if result.returncode:
                problems.append(f'{block.where}: {result.stderr.strip()}')
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('path', DOCS)
def test_commands_parse_with_the_real_parsers(path):
    problems = [
        f'{block.where}: {problem}'
        for block in blocks_of(path, 'bash')
        for tokens in commands(block.code)
        for problem in command_problems(tokens)
    ]
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('path', DOCS)
def test_flags_named_in_the_prose_exist(path):
    problems = []
    for number, line in enumerate(document(path).prose.splitlines(), start=1):
        for match in SPAN.finditer(line):
            for part in match.group(2).split()[0].split('/'):
                flag = FLAG.fullmatch(part.split('=')[0])
                if flag and flag.group(0) not in known_flags() | OTHER_PROGRAMS_FLAGS:
                    problems.append(f'{path}:{number}: no parser has the flag {flag.group(0)}')
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('path', DOCS)
def test_python_blocks_import(path):
    problems = []
    for block in blocks_of(path, 'python'):
        for node in ast.walk(ast.parse(block.code)):
            if isinstance(node, ast.ImportFrom) and (node.module or '').split('.')[0] in ('realesrgan', 'basicsr'):
                try:
                    module = importlib.import_module(node.module)
                except ImportError as error:
                    problems.append(f'{block.where}: cannot import {node.module} ({error})')
                    continue
                problems += [
                    f'{block.where}: {node.module} has no {alias.name}'
                    for alias in node.names
                    if not hasattr(module, alias.name)
                ]
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('path', DOCS)
def test_links_resolve(path):
    problems = []
    for number, line in enumerate(document(path).prose.splitlines(), start=1):
        for target in LINK.findall(SPAN.sub('', line)):
            if (
                not target.startswith(('http', '#', 'mailto:'))
                and not ((REPO_ROOT / path).parent / target.split('#')[0]).exists()
            ):
                problems.append(f'{path}:{number}: the link target {target} does not exist')
    assert not problems, '\n'.join(problems)


def test_readme_is_a_short_user_guide():
    lines = document('README.md').text.count('\n')
    assert lines <= README_MAX_LINES, f'README.md has {lines} lines; move details to a docs/ page'


def _code_signature(block: Block) -> Any:
    """What must be equal between twins: the commands (comments left out), the python code, the yaml data."""
    if block.lang == 'bash':
        return block.lang, commands(block.code)
    if block.lang == 'python':
        return block.lang, ast.dump(ast.parse(block.code))
    if block.lang == 'yaml':
        return block.lang, yaml.safe_load(block.code)
    return None


@pytest.mark.parametrize(('english', 'korean'), TWINS, ids=[twin[0] for twin in TWINS])
def test_twins_have_the_same_sections_and_code(english, korean):
    assert (REPO_ROOT / korean).is_file(), f'{english} has no Korean twin {korean}'
    levels = [HEADING.findall(document(path).prose) for path in (english, korean)]
    assert levels[0] == levels[1], f'{english} and {korean} differ in their sections (levels {levels})'
    codes = [[sig for block in document(path).blocks if (sig := _code_signature(block))] for path in (english, korean)]
    for index, (left, right) in enumerate(zip(*codes)):
        assert left == right, f'code block {index + 1} differs between {english} and {korean}:\n{left}\n{right}'
    assert len(codes[0]) == len(codes[1]), f'{english} has {len(codes[0])} code blocks, {korean} {len(codes[1])}'


@lru_cache(maxsize=None)
def terms() -> Tuple[Tuple[str, str], ...]:
    rows = re.findall(r'^\| ([^|]+?) \| ([^|]+?) \|', document('docs/terms.md').text, re.M)
    return tuple((korean, english) for korean, english in rows if korean != '한국어' and not set(korean) <= set('-: '))


@pytest.mark.parametrize('path', KOREAN_DOCS)
def test_korean_terms_get_their_english_on_first_use(path):
    """A term of docs/terms.md gets "(English)" right after it before it is used bare (headings and a term with a
    particle attached are left out)."""
    assert len(terms()) >= 20
    prose = '\n'.join(line for line in document(path).prose.splitlines() if not line.startswith('#'))  # titles
    text = re.sub(r'\]\([^)]*\)', ']', SPAN.sub(' ', prose))
    problems = []
    for korean, english in terms():
        paired, bare = None, None
        for found in re.finditer(rf'(?<![\uac00-\ud7a3]){re.escape(korean)}', text):  # not 타일 in 스타일
            after = text[found.end() :]
            if after.lstrip().startswith('('):
                paired = found.start() if paired is None else paired
            elif not re.match(r'[\uac00-\ud7a3]', after):
                bare = found.start() if bare is None else bare
        if bare is not None and (paired is None or bare < paired):
            snippet = text[bare : bare + len(korean) + 12].replace('\n', ' ')
            problems.append(f'{path}: "{korean}" ("{snippet}") is used before "{korean}({english})"')
    assert not problems, '\n'.join(problems)


def test_the_layout_tree_names_the_package_folders():
    tree = next(
        block.code for block in blocks_of('docs/architecture.md', 'text') if block.code.startswith('realesrgan/')
    )
    named = set()
    for line in tree.splitlines()[1:]:
        entry = re.match(r'^  (\S.*?)(?:\s{2,}|$)', line)
        if entry:
            named.update(name.strip() for name in entry.group(1).split(','))
    folders = {f'{path.name}/' for path in (REPO_ROOT / 'realesrgan').iterdir() if (path / '__init__.py').is_file()}
    files = {name for name in named if not name.endswith('/')}
    assert {name for name in named if name.endswith('/')} == folders, (
        f'the tree names {sorted(named)}, the package has {sorted(folders)}'
    )
    assert all((REPO_ROOT / 'realesrgan' / name).is_file() for name in files), sorted(files)


BATCH_FLAGS = ('--ext', '--quality', '--strip_metadata', '--recursive', '--skip_existing', '--alpha_bleed')
BATCH_FLAGS += ('--num_process_per_gpu', '--device')


@pytest.mark.parametrize('page', ['docs/inference.md', 'docs/inference_KR.md'])
def test_every_batch_flag_has_an_example(page):
    """Moved from tests/cli/test_batch_docs.py: each batch flag of the image command is shown in a command."""
    parser = parser_of('inference_realesrgan.py')
    known = {option for action in parser._actions for option in action.option_strings}
    examples = re.findall(r'`(python inference_realesrgan\.py [^`]*)`', document(page).text)
    for flag in BATCH_FLAGS:
        assert flag in known
        assert any(re.search(rf'{flag}(\s|$)', example) for example in examples), f'{page}: no example of {flag}'


# ------------------------------------------------------------------------------------------ runnable blocks
COPIED = ('realesrgan', 'scripts', 'options', 'inputs', 'benchmarks', 'tests', 'setup.py', 'pyproject.toml')
COPIED += ('inference_realesrgan.py', 'inference_realesrgan_video.py', 'app.py', 'requirements.txt')


def _run_params() -> List[Any]:
    params = []
    for path in DOCS:
        runnable = [block for block in document(path).blocks if 'runnable' in block.flags]
        quick = [block for block in runnable if 'slow' not in block.flags]
        for name, chosen, slow in (('quick', quick, False), ('all', runnable, True)):
            if not chosen or (slow and len(chosen) == len(quick)):
                continue
            marks = [pytest.mark.slow] if slow else []
            marks += [pytest.mark.subprocess] if any(block.lang == 'bash' for block in chosen) else []
            marks += [pytest.mark.weights] if any('weights' in block.flags for block in chosen) else []
            params.append(pytest.param(path, slow, id=f'{path}-{name}', marks=marks))
    return params


@pytest.mark.parametrize(('path', 'with_slow'), _run_params())
def test_runnable_blocks_run(path, with_slow, tmp_path, monkeypatch, one_torch_thread):
    checkout = tmp_path / 'checkout'
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '.pytest_cache', '.venv*')
    for name in COPIED:
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(REPO_ROOT / name, checkout / name, ignore=ignore)
        elif (REPO_ROOT / name).is_file():
            shutil.copy2(REPO_ROOT / name, checkout / name)
    if (REPO_ROOT / 'weights').is_dir():
        (checkout / 'weights').symlink_to(REPO_ROOT / 'weights', target_is_directory=True)
    monkeypatch.chdir(checkout)
    environment = dict(os.environ, PYTHONPATH=str(checkout), OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    environment['PATH'] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', '')
    namespace: Dict[str, Any] = {'__name__': '__doc_block__'}
    for block in document(path).blocks:
        if 'runnable' not in block.flags or ('slow' in block.flags and not with_slow):
            continue
        assert block.lang in ('bash', 'python'), f'{block.where}: only bash and python blocks can be runnable'
        if block.lang == 'python':
            exec(compile(block.code, block.where, 'exec'), namespace)  # noqa: S102 (the documents' own examples)
        else:
            result = subprocess.run(
                ['bash', '-euo', 'pipefail', '-c', block.code],
                cwd=checkout,
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=600,
            )
            assert result.returncode == 0, f'{block.where} exited with {result.returncode}:\n{result.stdout[-4000:]}'
