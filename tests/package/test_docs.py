"""The Markdown stays true: the guides beside the code, README.md, README_KR.md and docs/*.md.

The rules writers follow are in tests/TESTS.md ("문서 테스트"). What this checks:

* every fenced ``bash``, ``python`` and ``yaml`` block of every document parses (``bash -n``, ``ast.parse``,
  ``yaml.safe_load``). Blocks whose info string holds ``runnable`` (```` ```python runnable ````) are run, in their
  order, in a temporary copy of the checkout: python in this process, bash in a subprocess. ``slow`` keeps a block
  out of the quick run (it runs with the slow tests), ``weights`` marks a block that needs the official weights;
* ```` ```python signatures ```` blocks are stubs (``def plan_tiles(height, width, tile, context, align=1,
  scale=1): ...``, ``class UpscaleSettings:`` with its fields): parameters and fields must be the real ones, in
  order, with the real defaults; ``# realesrgan.x.y`` comment lines say which module the stubs below them are in;
* in the guides, every inline code span that names something must name something that exists: file paths (on disk),
  CLI flags (the parsers of the two CLIs, realesrgan/train.py, scripts/ and benchmarks/), dotted module paths
  (imported), classes, functions (``name()``) and other names (defined in the package, its scripts and tests, or
  BasicSR), option keys (options/*.yml and the key lists of realesrgan/training/option_checks.py), model names
  (MODEL_ZOO), test markers (pyproject.toml), extras (setup.py); yaml blocks hold option keys only;
* in every document: relative links point at files, ``from realesrgan... import X`` in python blocks imports, and the
  flags, repository paths and extras of commands that call this project's scripts exist;
* the guides form the hierarchy of :data:`GUIDE_TREE`, each with the same hierarchy block (links both ways), an
  English summary and the same term table, each Korean term with its English term in parentheses on first use;
  README_KR.md links the top guide before its first section.

``python -m pytest -q -s tests/package/test_docs.py -k inventory`` prints how many blocks run and parse and how many
names are checked.
"""

import ast
import builtins
import dataclasses
import fnmatch
import importlib
import inspect
import os
import pkgutil
import re
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterator, List, Optional, Set, Tuple

import pytest
import yaml
from helpers import REPO_ROOT

# ------------------------------------------------------------------------------------------ the documents
GUIDE_TREE: Dict[str, Optional[str]] = {  # guide -> the guide above it (None: the top guide)
    'CONTEXT.md': None,
    'realesrgan/inference/inference_context.md': 'CONTEXT.md',
    'scripts/scripts_context.md': 'CONTEXT.md',
    'options/options_context.md': 'CONTEXT.md',
    'tests/TESTS.md': 'CONTEXT.md',
    'realesrgan/realesrgan_context.md': 'CONTEXT.md',
    'realesrgan/archs/archs_context.md': 'realesrgan/realesrgan_context.md',
    'realesrgan/data/data_context.md': 'realesrgan/realesrgan_context.md',
    'realesrgan/models/models_context.md': 'realesrgan/realesrgan_context.md',
}
TOP_GUIDE = 'CONTEXT.md'
TOP_GUIDE_UP = frozenset({'README_KR.md', 'README.md'})  # what the top guide's "up" line links
GUIDES = tuple(GUIDE_TREE)
OTHER_DOCS = ('README.md', 'README_KR.md', *sorted(f'docs/{path.name}' for path in (REPO_ROOT / 'docs').glob('*.md')))
DOCS = GUIDES + OTHER_DOCS

HIERARCHY = re.compile(r'<!-- doc-hierarchy -->\n(.*?)\n<!-- /doc-hierarchy -->', re.S)
TERMS = re.compile(r'<!-- terms -->\n(.*?)\n<!-- /terms -->', re.S)
SUMMARY = '**English summary.**'

LANGUAGES = {'bash': 'bash', 'sh': 'bash', 'shell': 'bash', 'python': 'python', 'py': 'python', 'yaml': 'yaml'}
BLOCK_FLAGS = frozenset({'runnable', 'slow', 'weights', 'signatures'})
FENCE = re.compile(r'^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$')
SPAN = re.compile(r'(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)')
LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')
HTML_COMMENT = re.compile(r'<!--.*?-->', re.S)

# top folders of paths that are made at run time (outputs, downloads), not kept in the repository
RUNTIME_ROOTS = frozenset({'experiments', 'weights', 'datasets', 'results', 'tb_logger', 'gfpgan', '~'})
# files that a script of the repository writes, and that guides name
GENERATED = frozenset({'inputs/sample_clip.mp4', 'videos/sample_clip.mp4'})  # scripts/make_sample_clip.py
# folders of code and configs: paths in commands that start with these must exist
CODE_ROOTS = frozenset({'realesrgan', 'scripts', 'options', 'benchmarks', 'tests', 'docs'})
FILE_EXTENSIONS = (
    '.py .yml .yaml .md .txt .png .jpg .jpeg .pth .toml .cfg .json .mp4 .state .param .bin .onnx .lmdb .log'
).split()
# dotted names whose first part is one of these are imported and looked up
IMPORTABLE = frozenset(
    {'realesrgan', 'basicsr', 'helpers', 'torch', 'torchvision', 'cv2', 'numpy', 'yaml', 'av', 'tqdm', 'PIL'}
    | {'argparse', 'ast', 'importlib', 'os', 'runpy'}
)
# BasicSR modules whose names the guides may use bare (SRModel, FileClient, ...)
BASICSR_MODULES = (
    'basicsr.archs.arch_util',
    'basicsr.archs.rrdbnet_arch',
    'basicsr.archs.vgg_arch',
    'basicsr.data.data_util',
    'basicsr.data.degradations',
    'basicsr.data.paired_image_dataset',
    'basicsr.data.transforms',
    'basicsr.losses.basic_loss',
    'basicsr.losses.gan_loss',
    'basicsr.models.base_model',
    'basicsr.models.sr_model',
    'basicsr.models.srgan_model',
    'basicsr.train',
    'basicsr.utils',
    'basicsr.utils.img_process_util',
    'basicsr.utils.options',
    'basicsr.utils.registry',
)
PYTHON_WORDS = frozenset({'True', 'False', 'None', 'self', 'cls'})


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
    """A Markdown document: its blocks, and its prose (blocks and HTML comments blanked, line numbers kept)."""

    path: str
    text: str
    blocks: Tuple[Block, ...]
    prose: str

    def spans(self) -> Iterator[Tuple[int, str]]:
        """``(line, text)`` of every inline code span of the prose."""
        for number, line in enumerate(self.prose.splitlines(), start=1):
            for match in SPAN.finditer(line):
                text = match.group(2)
                yield number, text[1:-1] if text.startswith(' ') and text.endswith(' ') and text.strip() else text

    def links(self) -> Iterator[Tuple[int, str]]:
        """``(line, target)`` of every Markdown link of the prose, code spans left out."""
        for number, line in enumerate(self.prose.splitlines(), start=1):
            for match in LINK.finditer(SPAN.sub('', line)):
                yield number, match.group(1)


def parse_markdown(path: str) -> Doc:
    """Split a document into fenced blocks and prose."""
    if not (REPO_ROOT / path).is_file():  # reported by test_every_guide_exists_with_summary_hierarchy_and_terms
        return Doc(path, '', (), '')
    text = (REPO_ROOT / path).read_text(encoding='utf-8')
    lines = text.splitlines()
    prose = list(lines)
    blocks = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening or opening.group('info').strip().startswith(('`', '~')):
            index += 1
            continue
        fence, indent = opening.group('fence'), len(opening.group('indent'))
        words = opening.group('info').split()
        end = index + 1
        while end < len(lines) and not re.match(rf'^ *{re.escape(fence[0])}{{{len(fence)},}}\s*$', lines[end]):
            end += 1
        body = [line[indent:] if line[:indent].strip() == '' else line for line in lines[index + 1 : end]]
        lang = LANGUAGES.get(words[0].lower(), words[0].lower()) if words else ''
        blocks.append(Block(path, index + 1, lang, frozenset(words[1:]), '\n'.join(body) + '\n'))
        for number in range(index, min(end + 1, len(lines))):
            prose[number] = ''
        index = end + 1
    prose_text = HTML_COMMENT.sub(lambda match: '\n' * match.group(0).count('\n'), '\n'.join(prose))
    return Doc(path, text, tuple(blocks), prose_text)


@lru_cache(maxsize=None)
def document(path: str) -> Doc:
    return parse_markdown(path)


def code_blocks(paths: Tuple[str, ...] = DOCS) -> List[Block]:
    return [block for path in paths for block in document(path).blocks if block.lang in ('bash', 'python', 'yaml')]


# ------------------------------------------------------------------------------------------ what exists
def _source_files() -> List[Path]:
    """The Python files of this repository (this test left out: its strings must not vouch for names) and of
    the installed BasicSR."""
    import basicsr

    ours = [
        path
        for folder in ('realesrgan', 'scripts', 'benchmarks', 'tests')
        for path in (REPO_ROOT / folder).rglob('*.py')
        if not any(part.startswith('.venv') for part in path.parts) and path.resolve() != Path(__file__).resolve()
    ]
    top = sorted(REPO_ROOT.glob('*.py'))
    return sorted(ours) + top + sorted(Path(basicsr.__file__).parent.rglob('*.py'))


def _docstring_nodes(tree: ast.AST) -> Set[int]:
    """ids of the docstring constants of a module (they name things; they do not define them)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


@dataclass
class CodeNames:
    """Names the code defines, words of its string constants, and the instance attributes of its classes."""

    defined: Set[str]
    callables: Set[str]
    classes: Set[str]
    words: Set[str]
    instance_attributes: Dict[str, Set[str]]


@lru_cache(maxsize=None)
def code_names() -> CodeNames:
    names = CodeNames(set(), set(), set(), set(), {})
    for path in _source_files():
        try:
            tree = ast.parse(path.read_text(encoding='utf-8'))
        except (SyntaxError, UnicodeDecodeError):
            continue
        docstrings = _docstring_nodes(tree)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.defined.add(node.name)
                names.callables.add(node.name)
                if isinstance(node, ast.ClassDef):
                    names.classes.add(node.name)
                    attributes = names.instance_attributes.setdefault(node.name, set())
                    for inner in ast.walk(node):
                        if isinstance(inner, ast.Attribute) and isinstance(inner.ctx, ast.Store):
                            attributes.add(inner.attr)
                        elif isinstance(inner, ast.AnnAssign) and isinstance(inner.target, ast.Name):
                            attributes.add(inner.target.id)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.defined.add(node.id)
                if node.id[:1].isupper() and not node.id.isupper():
                    names.classes.add(node.id)  # aliases such as TileCallback = Callable[...]
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.defined.add(node.attr)
            elif isinstance(node, ast.arg):
                names.defined.add(node.arg)
            elif isinstance(node, ast.keyword) and node.arg:
                names.defined.add(node.arg)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                names.words.update(re.findall(r'[A-Za-z_][\w-]*', node.value))
    return names


@lru_cache(maxsize=None)
def python_objects() -> Dict[str, List[Any]]:
    """Simple name -> the classes, functions and constants of that name in the package and in BasicSR."""
    import realesrgan

    modules = [importlib.import_module(name) for name in BASICSR_MODULES]
    for info in pkgutil.walk_packages(realesrgan.__path__, 'realesrgan.'):
        try:
            modules.append(importlib.import_module(info.name))
        except ImportError:  # an optional dependency is missing: its names stay unknown
            continue
    objects: Dict[str, List[Any]] = {}
    for module in modules:
        for name, value in vars(module).items():
            if name.startswith('__'):
                continue
            bucket = objects.setdefault(name, [])
            if not any(value is known for known in bucket):
                bucket.append(value)
    from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY

    for registry in (ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY):
        for name, value in registry:
            bucket = objects.setdefault(name, [])
            if not any(value is known for known in bucket):
                bucket.append(value)
    return objects


def resolve_dotted(name: str) -> Any:
    """Import the longest module prefix of a dotted name and look the rest up; raises when it does not exist."""
    parts = name.split('.')
    for cut in range(len(parts), 0, -1):
        try:
            value = importlib.import_module('.'.join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            value = getattr(value, attribute)
        return value
    raise ImportError(f'no module {parts[0]}')


def resolve_name(name: str) -> List[Any]:
    """The objects a (possibly dotted) name may mean: module paths, ``Class.attribute`` or simple names."""
    head = name.split('.')[0]
    if head in IMPORTABLE:
        return [resolve_dotted(name)]
    found = []
    for value in python_objects().get(head, []):
        try:
            for attribute in name.split('.')[1:]:
                value = getattr(value, attribute)
        except AttributeError:
            continue
        found.append(value)
    return found


def _yaml_paths(value: Any, prefix: str = '') -> Iterator[Tuple[str, str]]:
    """``(dotted path, key)`` of every key of a YAML mapping, nested ones included."""
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f'{prefix}.{key}' if prefix else str(key)
            yield path, str(key)
            yield from _yaml_paths(inner, path)


@lru_cache(maxsize=None)
def option_names() -> Tuple[FrozenSet[str], FrozenSet[str]]:
    """Option keys and dotted option paths: those of options/*.yml and those the package's checks know."""
    from realesrgan.training.option_checks import DATASET_OPTION_KEYS, MODEL_OPTION_KEYS

    keys, paths = set(), set()
    for path in sorted((REPO_ROOT / 'options').glob('*.yml')):
        for dotted, key in _yaml_paths(yaml.safe_load(path.read_text(encoding='utf-8'))):
            keys.add(key)
            paths.add(dotted)
    for sections in MODEL_OPTION_KEYS.values():
        for section, section_keys in sections.items():
            keys.update(section_keys)
            paths.update(f'{section}.{key}' if section else key for key in section_keys)
    for dataset_keys in DATASET_OPTION_KEYS.values():
        keys.update(dataset_keys)
        paths.update(f'datasets.{phase}.{key}' for key in dataset_keys for phase in ('train', 'val'))
    return frozenset(keys), frozenset(paths)


@lru_cache(maxsize=None)
def markers() -> FrozenSet[str]:
    text = (REPO_ROOT / 'pyproject.toml').read_text(encoding='utf-8')
    block = re.search(r'markers = \[(.*?)\]', text, re.S).group(1)
    return frozenset(re.findall(r'"(\w+):', block))


@lru_cache(maxsize=None)
def extras() -> FrozenSet[str]:
    tree = ast.parse((REPO_ROOT / 'setup.py').read_text(encoding='utf-8'))
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == 'extras_require' and isinstance(node.value, ast.Dict):
            return frozenset(key.value for key in node.value.keys)
    raise AssertionError('setup.py has no extras_require')


@lru_cache(maxsize=None)
def model_names() -> FrozenSet[str]:
    from realesrgan.zoo import MODEL_ZOO

    return frozenset(MODEL_ZOO)


def _ast_flags(path: Path) -> FrozenSet[str]:
    """The option strings of every ``add_argument`` call of a file."""
    flags = {'-h', '--help'}
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == 'add_argument':
            flags.update(
                arg.value
                for arg in node.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith('-')
            )
    return frozenset(flags)


@lru_cache(maxsize=None)
def entry_point_flags() -> Dict[str, FrozenSet[str]]:
    """The flags of every command line of the project, by the script path users type."""
    import basicsr.utils.options

    from realesrgan.app import evaluate_cli, image_cli, video_cli
    from realesrgan.web import web_cli

    def parser_flags(parser: Any) -> FrozenSet[str]:
        return frozenset(flag for action in parser._actions for flag in action.option_strings)

    flags = {
        'inference_realesrgan.py': parser_flags(image_cli.build_parser()),
        'inference_realesrgan_video.py': parser_flags(video_cli.build_parser()),
        'app.py': parser_flags(web_cli.build_parser()),
        # train.py hands its command line to BasicSR's parse_options
        'realesrgan/train.py': _ast_flags(Path(basicsr.utils.options.__file__)),
    }
    for folder in ('scripts', 'benchmarks'):
        for path in sorted((REPO_ROOT / folder).glob('*.py')):
            flags[f'{folder}/{path.name}'] = _ast_flags(path)
    # thin wrappers: the parser lives in the package, not in the script
    flags['scripts/evaluate.py'] = parser_flags(evaluate_cli.build_parser())
    return flags


@lru_cache(maxsize=None)
def pytest_flags() -> FrozenSet[str]:
    """The options of pytest itself (and of its default plugins), which the tests guide names."""
    from _pytest.config import get_config

    parser = get_config()._parser
    options = [option for group in parser._groups for option in group.options] + parser._anonymous.options
    return frozenset(name for option in options for name in option.names())


@lru_cache(maxsize=None)
def all_flags() -> FrozenSet[str]:
    """Every flag an inline code span may name: the project's command lines, and pytest's."""
    return frozenset().union(*entry_point_flags().values(), pytest_flags())


# ------------------------------------------------------------------------------------------ checking names
@dataclass
class Check:
    """The result of checking one name: its kind and, when it does not exist, why."""

    kind: str
    problem: Optional[str] = None


CHECKED_KINDS = (
    'message',
    'path',
    'pattern',
    'flag',
    'module',
    'attribute',
    'class',
    'function',
    'name',
    'option',
    'model',
    'marker',
    'extra',
)
IDENTIFIER = re.compile(r'^[A-Za-z_]\w*$')
FLAG = re.compile(r'^--?[A-Za-z][\w-]*(=\S*)?$')
NUMBER = re.compile(r'^-?\d[\d_.e+-]*$')
CALL = re.compile(r'^@?([A-Za-z_][\w.]*)\((.*)\)$', re.S)


def _is_path_like(text: str) -> bool:
    """A file or folder: it has a ``/`` (not a URL, not absolute) or ends in a file extension."""
    if not re.fullmatch(r'[~\w./<>*{}+-]+', text) or text.startswith(('-', 'http', '/')):
        return False
    return '/' in text or text.lower().endswith(tuple(FILE_EXTENSIONS))


def check_path(text: str, doc: str) -> Check:
    """A path must exist relative to the repository root or to the document's folder (runtime paths excepted)."""
    clean = text.rstrip('/')
    root = clean.split('/')[0]
    if root in RUNTIME_ROOTS or clean in GENERATED or ('<' in clean and '/' not in clean):
        return Check('runtime-path')  # made at run time; `<name>_s001.png` is a naming pattern
    bases = [REPO_ROOT, (REPO_ROOT / doc).parent]
    if any(marker in clean for marker in '*<{'):
        pattern = re.sub(r'<[^>]*>|\{[^}]*\}', '*', clean)
        matches = [
            base for base in bases if list(base.glob(pattern)) or ('/' not in pattern and list(base.rglob(pattern)))
        ]
        return Check('pattern', None if matches else f'no file matches {text}')
    if any((base / clean).exists() for base in bases):
        return Check('path')
    return Check('path', f'no such file or folder: {text}')


def _check_identifier(name: str) -> Check:
    names = code_names()
    keys, _ = option_names()
    if name in model_names():
        return Check('model')
    if name in markers():
        return Check('marker')
    if name[:1].isupper() and not name.isupper():
        ok = name in names.classes or name in python_objects() or inspect.isclass(getattr(builtins, name, None))
        return Check('class', None if ok else f'no class {name} in the package, its scripts and tests, or BasicSR')
    if name in names.defined or name in keys:
        return Check('option' if name in keys and name not in names.defined else 'name')
    if name in names.words or name in _state_dict_parts():
        return Check('name')
    if name in BLOCK_FLAGS or name in LANGUAGES or name in globals():  # the words and tables of this doc test
        return Check('name')
    return Check('name', f'{name} is neither defined in the code, nor an option key, a model name or a marker')


def _check_call(callee: str, arguments: str) -> Check:
    """``name()``, or ``name(arg, key=value)``: the callable exists, and the argument names are its parameters."""
    names = code_names()
    if callee.startswith('self.'):  # a method or callable attribute of some class of the code
        method = callee.split('.', 1)[1]
        known = method in names.callables or any(method in found for found in names.instance_attributes.values())
        return Check('function', None if known else f'no class of the code has a method {method}')
    try:
        objects = [value for value in resolve_name(callee) if callable(value)]
    except (ImportError, AttributeError):
        objects = []
    simple = callee.split('.')[-1]
    if not objects and not (len(callee.split('.')) == 1 and simple in names.callables):
        return Check('function', f'no function or class {callee}()')
    given = [part.split('=')[0].strip() for part in _split_arguments(arguments)]
    given = [name for name in given if IDENTIFIER.match(name) and name not in PYTHON_WORDS]
    if given and objects:
        for value in objects:
            try:
                parameters = inspect.signature(value).parameters
            except (TypeError, ValueError):
                return Check('function')
            takes_any = any(p.kind == p.VAR_KEYWORD for p in parameters.values())
            if takes_any or all(name in parameters for name in given):
                return Check('function')
        return Check('function', f'{callee}() has no parameter(s) {", ".join(given)}')
    return Check('function')


def _split_arguments(text: str) -> List[str]:
    parts, depth, current = [], 0, ''
    for char in text:
        if char in '([{':
            depth += 1
        elif char in ')]}':
            depth -= 1
        if char == ',' and depth == 0:
            parts.append(current)
            current = ''
        else:
            current += char
    return [part.strip() for part in parts + [current] if part.strip()]


def check_span(text: str, doc: str) -> Check:
    """Check the name an inline code span gives (see the module docstring); literals are ``Check('literal')``."""
    text = text.strip()
    keys, option_paths = option_names()
    if not text or text in PYTHON_WORDS:
        return Check('literal')
    extra = re.fullmatch(r'[\'"]?\.\[([\w,]+)\][\'"]?', text)
    if extra:
        missing = [name for name in extra.group(1).split(',') if name not in extras()]
        return Check('extra', f'setup.py has no extra {", ".join(missing)}' if missing else None)
    if re.search(r'\s', text) and not CALL.match(text):
        return _check_command_span(text, doc)
    if '/' in text and all(FLAG.match(part) for part in text.split('/')):  # -i/--input
        unknown = [part for part in text.split('/') if part.split('=')[0] not in all_flags()]
        return Check('flag', f'no command line has the flag(s) {", ".join(unknown)}' if unknown else None)
    if FLAG.match(text) and not NUMBER.match(text):
        flag = text.split('=')[0]
        return Check('flag', None if flag in all_flags() else f'no command line of the project has the flag {flag}')
    call = CALL.match(text)
    if call:
        return _check_call(call.group(1), call.group(2))
    if re.fullmatch(r'\.\w+', text):  # a file extension, e.g. `.pth`
        return Check('literal')
    variable = re.fullmatch(r'([A-Z][A-Z0-9_]+)=\S*', text)  # an environment variable: `REALESRGAN_TRACEBACK=1`
    if variable:
        known = variable.group(1) in code_names().words
        return Check('name', None if known else f'the code reads no environment variable {variable.group(1)}')
    if (
        re.fullmatch(r'[\w.]*(\*|<\w+>)[\w.*<>]*', text)
        and '/' not in text
        and not text.endswith(tuple(FILE_EXTENSIONS))
    ):
        pattern = re.sub(r'<\w+>', '*', text)  # `dataroot_*`, `datasets.<phase>`: some option key or path fits
        candidates = option_paths | keys | code_names().defined
        ok = any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates)
        return Check('option', None if ok else f'no option key or name fits {text}')
    if _is_path_like(text):
        return check_path(text, doc)
    if text in model_names():
        return Check('model')
    if '.' in text and re.fullmatch(r'[A-Za-z_][\w]*(\.[\w]+)+', text):
        return _check_dotted(text, option_paths)
    if IDENTIFIER.match(text):
        return _check_identifier(text)
    if re.fullmatch(r'[\w-]+', text) and not NUMBER.match(text):
        ok = text in code_names().words or text in model_names()
        return Check('name', None if ok else f'{text} appears nowhere in the code')
    return Check('literal')


def _check_dotted(text: str, option_paths: FrozenSet[str]) -> Check:
    head = text.split('.')[0]
    if head == 'self':  # an attribute some class of the code sets
        attribute = text.split('.', 1)[1]
        known = any(attribute in found for found in code_names().instance_attributes.values())
        return Check('attribute', None if known else f'no class of the code sets self.{attribute}')
    if head in IMPORTABLE:
        try:
            resolve_dotted(text)
        except (ImportError, AttributeError) as error:
            return Check('module', f'{text} cannot be imported ({error})')
        return Check('module')
    if head[:1].isupper() or head in python_objects():
        if resolve_name(text):
            return Check('attribute')
        attribute = text.split('.')[-1]
        classes = [value for value in python_objects().get(head, []) if inspect.isclass(value)]
        attributes = code_names().instance_attributes
        for cls in classes:
            if any(attribute in attributes.get(base.__name__, ()) for base in cls.__mro__):
                return Check('attribute')
        return Check('attribute', f'{text} does not exist')
    if text in option_paths or any(path.endswith(f'.{text}') for path in option_paths):
        return Check('option')
    if text in _state_dict_keys() or any(key.startswith(f'{text}.') for key in _state_dict_keys()):
        return Check('name')
    return Check('option', f'{text} is neither an importable name, an attribute, nor an option path')


@lru_cache(maxsize=None)
def _state_dict_keys() -> FrozenSet[str]:
    """The official checkpoints' state-dict keys (tests/archs/checkpoint_keys.txt)."""
    text = (REPO_ROOT / 'tests' / 'archs' / 'checkpoint_keys.txt').read_text(encoding='utf-8')
    return frozenset(re.findall(r'^\s*([\w.]+)\s', text, re.M))


@lru_cache(maxsize=None)
def _state_dict_parts() -> FrozenSet[str]:
    """The parts of the official state-dict keys (``weight_orig``, ``conv_first``, ...)."""
    return frozenset(part for key in _state_dict_keys() for part in key.split('.'))


def _check_command_span(text: str, doc: str) -> Check:
    """A span with spaces: ``key: value`` options, or a command line or flag list whose flags are checked."""
    keys, _ = option_names()
    option = re.fullmatch(r'([A-Za-z_]\w*): .+', text)
    messages = ('error', 'warning', 'skipped')
    if option and '"' not in text and option.group(1)[0].islower() and option.group(1) not in messages:
        key = option.group(1)  # `key: value`; quoted messages (`error: "x" is ...`) are not options
        return Check('option', None if key in keys else f'{key} is not an option key of options/*.yml')
    problems = command_problems(text, doc)
    if problems:
        return Check('flag', '; '.join(problems))
    tokens = _tokens(text)
    if tokens and FLAG.match(tokens[0]):  # flags with their values, e.g. `--force_yml train:total_iter=60`
        unknown = [
            token.split('=')[0]
            for token in tokens
            if FLAG.match(token) and not NUMBER.match(token) and token.split('=')[0] not in all_flags()
        ]
        return Check('flag', f'no command line has the flag(s) {", ".join(unknown)}' if unknown else None)
    if tokens and _entry_point(tokens):
        return Check('flag')
    if tokens and tokens[0] in PROGRAMS or text.startswith('`') or HANGUL.search(text):
        return Check('literal')  # another program's command line, or a description in Korean
    names = _expression_names(text)
    if (
        names is not None
    ):  # `tile_pad + tile_blend`, `gt_path, lq_path`, `class MyModel(SyntheticTrainingMixin, SRModel)`
        unknown = [name for name in names if _check_identifier(name).problem]
        return Check('name', f'{", ".join(unknown)}: not defined in the code' if unknown else None)
    return _check_message(text)


PROGRAMS = frozenset({'python', 'python3', 'pip', 'bash', 'ruff', 'torchrun', 'git', 'ls', 'test'})
HANGUL = re.compile('[\uac00-\ud7a3]')


def _expression_names(text: str) -> Optional[List[str]]:
    """The names a Python expression, import or class/def header uses; None when the text is not Python."""
    header = re.match(r'(class|def) (\w+)', text)
    try:
        tree = ast.parse(f'{text}: ...' if header else text)
    except SyntaxError:
        return None
    if not any(
        isinstance(node, (ast.BinOp, ast.Tuple, ast.Import, ast.ImportFrom, ast.ClassDef)) for node in ast.walk(tree)
    ):
        return None  # a lone word or call is checked as a name elsewhere; `bash -n` is no expression
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                module = node.module if isinstance(node, ast.ImportFrom) else alias.name
                try:
                    found = importlib.import_module(module)
                    if isinstance(node, ast.ImportFrom) and not hasattr(found, alias.name):
                        return [f'{module}.{alias.name}']
                except ImportError:
                    return [module]
    defined = {header.group(2)} if header else set()
    return [
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id not in defined and node.id not in PYTHON_WORDS and len(node.id) > 1
    ]  # one-letter names are placeholders: `(N, C, H, W)`


@lru_cache(maxsize=None)
def message_corpus() -> str:
    """The text of every string the code holds (f-string pieces included), one per line, spaces normalised.

    Messages come from the package and its scripts, from BasicSR, pytest and Python's import system.
    """
    import _pytest

    files = _source_files() + sorted(Path(_pytest.__file__).parent.rglob('*.py'))
    files.append(Path(importlib.__file__).parent / '_bootstrap.py')
    pieces = []
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding='utf-8'))
        except (SyntaxError, UnicodeDecodeError):
            continue
        pieces += [
            ' '.join(node.value.split())
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > 3
        ]
    return '\n'.join(pieces)


def _check_message(text: str) -> Check:
    """A quoted message (`Scale mismatches: GT "..." is ...`): three of its words in a row are in some string of
    the code (the parts between placeholders such as ``...`` and numbers are the code's own text)."""
    words = text.split()
    if len(words) < 3 or sum(bool(re.fullmatch(r'[A-Za-z,.;:()]+', word)) for word in words) < 2:
        return Check('literal')

    def placeholder(word: str) -> bool:  # where the code puts a value: ..., numbers
        return '...' in word or bool(re.search(r'\d', word))

    runs, run = [], 0  # lengths of the placeholder-free runs of words
    for word in words:
        run = 0 if placeholder(word) else run + 1
        runs.append(run)
    needed = min(3, max(runs))
    if needed < 2:
        return Check('literal')
    corpus = message_corpus()
    for size in range(max(runs), needed - 1, -1):
        for first in range(len(words) - size + 1):
            window = words[first : first + size]
            if not any(placeholder(word) for word in window) and ' '.join(window) in corpus:
                return Check('message')
    return Check('message', f'no {needed} of its words in a row are in any string of the code: a message that is gone')


def _tokens(line: str) -> List[str]:
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=';&|')
        lexer.whitespace_split = True
        lexer.commenters = '#'
        return list(lexer)
    except ValueError:
        return []


def _entry_point(tokens: List[str]) -> Optional[Tuple[int, str]]:
    for index, token in enumerate(tokens):
        script = token[2:] if token.startswith('./') else token
        if script in entry_point_flags():
            return index, script
        if script.endswith('.py') and script.split('/')[0] in ('scripts', 'benchmarks', 'realesrgan'):
            return index, script
        if re.fullmatch(r'inference_\w+\.py', script):
            return index, script
    return None


def command_problems(text: str, doc: str) -> List[str]:
    """What does not exist in the shell commands of ``text``: scripts, their flags, code paths, extras."""
    problems = []
    logical = re.sub(r'\\\n', ' ', text)
    for line in logical.splitlines():
        commands, current = [], []
        for token in _tokens(line):
            if token in (';', '&&', '||', '|', '&'):
                commands.append(current)
                current = []
            else:
                current.append(token)
        commands.append(current)
        for tokens in commands:
            found = _entry_point(tokens)
            if found:
                index, script = found
                if script not in entry_point_flags():
                    problems.append(f'no such script {script}')
                    continue
                for token in tokens[index + 1 :]:
                    flag = token.split('=')[0]
                    if FLAG.match(token) and not NUMBER.match(token) and flag not in entry_point_flags()[script]:
                        problems.append(f'{script} has no flag {flag}')
            for token in tokens:
                extra = re.fullmatch(r'\.\[([\w,]+)\]', token)
                if extra:
                    problems += [
                        f'setup.py has no extra {name}' for name in extra.group(1).split(',') if name not in extras()
                    ]
                elif '/' in token and token.split('/')[0] in CODE_ROOTS and re.fullmatch(r'[\w./*-]+', token):
                    check = check_path(token, doc)
                    if check.problem:
                        problems.append(check.problem)
    return problems


def python_import_problems(block: Block) -> List[str]:
    """``import realesrgan...`` and ``from realesrgan... import X`` (and BasicSR's) must work."""
    problems = []
    for node in ast.walk(ast.parse(block.code)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split('.')[0] in ('realesrgan', 'basicsr'):
            try:
                module = importlib.import_module(node.module)
            except ImportError as error:
                problems.append(f'{block.where}: cannot import {node.module} ({error})')
                continue
            problems += [
                f'{block.where}: {node.module} has no {alias.name}'
                for alias in node.names
                if alias.name != '*' and not hasattr(module, alias.name)
            ]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split('.')[0] in ('realesrgan', 'basicsr'):
                    try:
                        importlib.import_module(alias.name)
                    except ImportError as error:
                        problems.append(f'{block.where}: cannot import {alias.name} ({error})')
    return problems


def yaml_key_problems(block: Block) -> List[str]:
    """Every key of a yaml block is an option key; under a ``type:`` of a registered class, one it accepts."""
    keys, _ = option_names()
    problems = []

    def walk(value: Any, path: str) -> None:
        if not isinstance(value, dict):
            return
        accepted: Optional[Set[str]] = None
        if isinstance(value.get('type'), str):
            classes = [obj for obj in python_objects().get(value['type'], []) if inspect.isclass(obj)]
            if classes:
                accepted = set(inspect.signature(classes[0]).parameters) | keys
        for key, inner in value.items():
            known = key in keys if accepted is None else key in accepted
            if not known:
                problems.append(f'{block.where}: {path}{key} is not an option key')
            walk(inner, f'{path}{key}.')

    walk(yaml.safe_load(block.code), '')
    return problems


# ------------------------------------------------------------------------------------------ signature stubs
def _kind(parameter: inspect.Parameter) -> str:
    return {
        parameter.POSITIONAL_ONLY: 'positional',
        parameter.POSITIONAL_OR_KEYWORD: 'positional',
        parameter.VAR_POSITIONAL: '*args',
        parameter.KEYWORD_ONLY: 'keyword-only',
        parameter.VAR_KEYWORD: '**kwargs',
    }[parameter.kind]


def _stub_parameters(node: ast.FunctionDef) -> List[Tuple[str, str, Optional[ast.expr]]]:
    args = node.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    found = [(arg.arg, 'positional', default) for arg, default in zip(positional, defaults)]
    if args.vararg:
        found.append((args.vararg.arg, '*args', None))
    found += [(arg.arg, 'keyword-only', default) for arg, default in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg:
        found.append((args.kwarg.arg, '**kwargs', None))
    return found


def _same_default(stub: ast.expr, real: Any, namespace: Dict[str, Any]) -> bool:
    try:
        value = ast.literal_eval(stub)
    except ValueError:
        allowed = (ast.Name, ast.Attribute, ast.Load, ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop)
        if not all(isinstance(node, allowed) for node in ast.walk(stub)):
            return False
        try:
            value = eval(compile(ast.Expression(stub), '<stub>', 'eval'), dict(namespace))  # names and arithmetic only
        except Exception:
            return False
    if isinstance(value, bool) or isinstance(real, bool):
        return type(value) is type(real) and value == real
    if isinstance(real, (list, tuple)) and isinstance(value, (list, tuple)):
        return list(real) == list(value)
    return value is real or value == real


def compare_function(stub: ast.FunctionDef, real: Any, where: str) -> List[str]:
    function = inspect.unwrap(real.__func__ if isinstance(real, (classmethod, staticmethod)) else real)
    if isinstance(function, property):
        function = function.fget
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return [f'{where}: {stub.name} has no signature to compare']
    namespace = getattr(function, '__globals__', {})
    documented = _stub_parameters(stub)
    real_list = [(p.name, _kind(p)) for p in parameters]
    stub_list = [(name, kind) for name, kind, _ in documented]
    if real_list != stub_list:
        real_text = ', '.join(f'{name} ({kind})' for name, kind in real_list)
        return [f'{where}: {stub.name} takes {real_text}']
    problems = []
    for (name, _, default), parameter in zip(documented, parameters):
        has_default = parameter.default is not parameter.empty
        if default is None and has_default:
            problems.append(f'{where}: {stub.name}: {name} has the default {parameter.default!r}')
        elif default is not None and not has_default:
            problems.append(f'{where}: {stub.name}: {name} has no default')
        elif default is not None and not _same_default(default, parameter.default, namespace):
            problems.append(f'{where}: {stub.name}: the default of {name} is {parameter.default!r}')
    return problems


def _real_fields(cls: type) -> Optional[Dict[str, Any]]:
    """``{field: default}`` of a dataclass or NamedTuple (``inspect.Parameter.empty`` when it has none)."""
    empty = inspect.Parameter.empty
    if dataclasses.is_dataclass(cls):
        found = {}
        for field in dataclasses.fields(cls):
            if not field.init:
                continue
            if field.default is not dataclasses.MISSING:
                found[field.name] = field.default
            elif field.default_factory is not dataclasses.MISSING:
                found[field.name] = ('factory', field.default_factory)
            else:
                found[field.name] = empty
        return found
    if issubclass(cls, tuple) and hasattr(cls, '_fields'):
        return {name: cls._field_defaults.get(name, empty) for name in cls._fields}
    return None


def compare_class(stub: ast.ClassDef, cls: Any, where: str) -> List[str]:
    if not inspect.isclass(cls):
        return [f'{where}: {stub.name} is not a class']
    problems = []
    fields = _real_fields(cls)
    stub_fields = []
    namespace = {}  # names a default may use: those of the modules of the class and of its bases
    for base in reversed(cls.__mro__):
        namespace.update(vars(sys.modules[base.__module__]))
    for node in stub.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            real = next((vars(base)[node.name] for base in cls.__mro__ if node.name in vars(base)), None)
            if real is None:
                problems.append(f'{where}: {stub.name} has no method {node.name}')
            else:
                problems += compare_function(node, real, f'{where} {stub.name}')
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = node.target.id
            stub_fields.append(name)
            if fields is None or name not in fields:
                problems.append(f'{where}: {stub.name} has no field {name}')
                continue
            real = fields[name]
            if isinstance(real, tuple) and real[:1] == ('factory',):
                value = node.value
                ok = (
                    isinstance(value, ast.Call)
                    and ast.unparse(value.func) == 'field'
                    and any(
                        kw.arg == 'default_factory' and _same_default(kw.value, real[1], namespace)
                        for kw in value.keywords
                    )
                )
                if not ok:
                    problems.append(f'{where}: {stub.name}.{name} is made by field(default_factory={real[1].__name__})')
            elif node.value is None and real is not inspect.Parameter.empty:
                problems.append(f'{where}: {stub.name}.{name} has the default {real!r}')
            elif node.value is not None and (
                real is inspect.Parameter.empty or not _same_default(node.value, real, namespace)
            ):
                problems.append(f'{where}: {stub.name}.{name} defaults to {real!r}')
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if not hasattr(cls, name) or not _same_default(node.value, getattr(cls, name), namespace):
                problems.append(f'{where}: {stub.name}.{name} is not {ast.unparse(node.value)}')
    if stub_fields and fields is not None and stub_fields != list(fields):
        problems.append(f'{where}: {stub.name} has the fields {", ".join(fields)} (all of them, in this order)')
    return problems


def signature_problems(block: Block) -> Tuple[int, List[str]]:
    """Compare each stub of a ``signatures`` block with the code; returns (stubs compared, problems)."""
    tree = ast.parse(block.code)
    modules = {
        number: match.group(1)
        for number, line in enumerate(block.code.splitlines(), start=1)
        if (match := re.fullmatch(r'#\s*((?:realesrgan|basicsr|helpers)(?:\.\w+)*)\s*', line.strip()))
    }
    problems, compared = [], 0
    for node in tree.body:
        where = f'{block.doc}:{block.line + node.lineno}'
        module = next((modules[n] for n in sorted(modules, reverse=True) if n < node.lineno), None)
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            name = node.name
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        else:
            problems.append(f'{where}: a signatures block holds def, class and NAME = value stubs only')
            continue
        try:
            candidates = [resolve_dotted(f'{module}.{name}')] if module else python_objects().get(name, [])
        except (ImportError, AttributeError):
            candidates = []
        if not candidates:
            problems.append(f'{where}: {name} does not exist' + (f' in {module}' if module else ''))
            continue
        if len(candidates) > 1:
            problems.append(f'{where}: {name} is defined in several modules; add a "# realesrgan.<module>" line above')
            continue
        real = candidates[0]
        compared += 1
        if isinstance(node, ast.FunctionDef):
            problems += compare_function(node, real, where)
        elif isinstance(node, ast.ClassDef):
            problems += compare_class(node, real, where)
        else:
            namespace = vars(sys.modules[module]) if module else {}
            if not _same_default(node.value, real, namespace):
                problems.append(f'{where}: {name} is {real!r}')
    return compared, problems


# ------------------------------------------------------------------------------------------ the tests
def _linked(doc: str, markdown: str) -> List[str]:
    """The repository paths the links of ``markdown`` (a part of ``doc``) point at."""
    folder = (REPO_ROOT / doc).parent
    return [
        os.path.relpath(os.path.normpath(folder / target.split('#')[0]), REPO_ROOT).replace(os.sep, '/')
        for target in LINK.findall(markdown)
        if not target.startswith(('http', '#'))
    ]


def test_every_guide_exists_with_summary_hierarchy_and_terms():
    problems = []
    for path in GUIDES:
        if not (REPO_ROOT / path).is_file():
            problems.append(f'{path} is missing')
            continue
        text = document(path).text
        if not text.startswith('# '):
            problems.append(f'{path}: starts with its "# " title')
        before_sections = text.split('\n## ', 1)[0]
        for part, name in ((HIERARCHY, 'the document hierarchy block'), (TERMS, 'the term table')):
            if not part.search(before_sections):
                problems.append(f'{path}: {name} must come before the first "## " section')
        if SUMMARY not in before_sections:
            problems.append(f'{path}: needs a paragraph starting with {SUMMARY} before the first section')
    assert not problems, '\n'.join(problems)


def test_guides_link_to_each_other_both_ways():
    problems = []
    for path, parent in GUIDE_TREE.items():
        found = HIERARCHY.search(document(path).text)
        if not found:
            problems.append(f'{path}: no document hierarchy block')
            continue
        block = found.group(1)
        lines = {line.split(':')[0].strip('-> *'): line for line in block.splitlines() if ':' in line}
        here = next((line for key, line in lines.items() if key.startswith('현재 위치')), '')
        up = next((line for key, line in lines.items() if key.startswith('상위')), '')
        down = next((line for key, line in lines.items() if key.startswith('하위')), '')
        if f'`{path}`' not in here:
            problems.append(f'{path}: the "현재 위치" line names `{path}`')
        up_links = set(_linked(path, up))
        expected_up = TOP_GUIDE_UP if parent is None else {parent}
        if up_links != expected_up:
            problems.append(f'{path}: "상위" links {sorted(up_links)}, expected {sorted(expected_up)}')
        children = {child for child, above in GUIDE_TREE.items() if above == path}
        if set(_linked(path, down)) != children:
            problems.append(f'{path}: "하위" links {sorted(_linked(path, down))}, expected {sorted(children)}')
    assert not problems, '\n'.join(problems)


def test_readme_kr_links_the_top_guide_before_its_first_section():
    head = document('README_KR.md').text.split('\n## ', 1)[0]
    assert TOP_GUIDE in _linked('README_KR.md', head)


def _term_rows(path: str) -> List[Tuple[str, str]]:
    table = TERMS.search(document(path).text).group(1)
    rows = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip('|').split('|')]
        if (
            line.lstrip().startswith('|')
            and len(cells) >= 2
            and not set(cells[0]) <= set('-: ')
            and cells[0] != '한국어'
        ):
            rows.append((cells[0], cells[1]))
    return rows


def test_term_tables_are_the_same_and_terms_get_their_english_on_first_use():
    present = [path for path in GUIDES if TERMS.search(document(path).text)]  # the others fail the test above
    tables = {path: TERMS.search(document(path).text).group(1) for path in present}
    different = [path for path, table in tables.items() if table != tables[TOP_GUIDE]]
    assert not different, f'the term table differs from that of {TOP_GUIDE} in: {", ".join(different)}'
    assert len(_term_rows(TOP_GUIDE)) >= 10
    problems = []
    for path in present:
        doc = document(path)
        end_of_terms = doc.text[: TERMS.search(doc.text).end()].count('\n')
        text = SPAN.sub(' ', '\n'.join(doc.prose.splitlines()[end_of_terms + 1 :]))
        text = re.sub(r'\]\([^)]*\)', ']', text)
        for korean, english in _term_rows(path):
            # the first use as a word of its own: not the end of a longer word (타일 in 스타일)
            found = re.search(rf'(?<![\uac00-\ud7a3]){re.escape(korean)}', text)
            position = found.start() if found else -1
            if position >= 0 and not text[position + len(korean) :].lstrip().startswith('('):
                snippet = text[position : position + len(korean) + 12].replace('\n', ' ')
                problems.append(f'{path}: the first "{korean}" ("{snippet}") needs "({english})" right after it')
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('path', DOCS)
def test_blocks_parse(path):
    problems = []
    for block in document(path).blocks:
        if block.lang not in ('bash', 'python', 'yaml'):
            continue
        unknown = block.flags - BLOCK_FLAGS
        if unknown:
            problems.append(f'{block.where}: unknown info word(s) {", ".join(sorted(unknown))}')
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


def name_report(path: str) -> Tuple[Counter, List[str]]:
    """Check every name of one document; returns the number checked per kind and the problems."""
    doc = document(path)
    counts, problems = Counter(), []
    is_guide = path in GUIDE_TREE
    if is_guide:
        for line, text in doc.spans():
            check = check_span(text, path)
            counts[check.kind] += 1
            if check.problem:
                problems.append(f'{path}:{line}: `{text}`: {check.problem}')
    for line, target in doc.links():
        if target.startswith(('http', '#', 'mailto:')):
            continue
        counts['link'] += 1
        if not ((REPO_ROOT / path).parent / target.split('#')[0]).exists():
            problems.append(f'{path}:{line}: the link target {target} does not exist')
    for block in doc.blocks:
        if block.lang == 'python':
            found = python_import_problems(block)
            counts['import'] += sum(
                len(node.names)
                for node in ast.walk(ast.parse(block.code))
                if isinstance(node, (ast.Import, ast.ImportFrom))
            )
            problems += found
            if 'signatures' in block.flags:
                compared, found = signature_problems(block)
                counts['signature'] += compared
                problems += found
        elif block.lang == 'bash':
            counts['command'] += sum(
                1 for line in block.code.splitlines() if line.strip() and not line.lstrip().startswith('#')
            )
            problems += [f'{block.where}: {problem}' for problem in command_problems(block.code, path)]
        elif block.lang == 'yaml' and is_guide:
            counts['option'] += sum(1 for _ in _yaml_paths(yaml.safe_load(block.code)))
            problems += yaml_key_problems(block)
    return counts, problems


@pytest.mark.parametrize('path', DOCS)
def test_every_name_a_document_gives_exists(path):
    _, problems = name_report(path)
    assert not problems, '\n'.join(problems)


# ------------------------------------------------------------------------------------------ runnable blocks
COPIED = (
    'realesrgan',
    'scripts',
    'options',
    'inputs',
    'benchmarks',
    'tests',
    'inference_realesrgan.py',
    'inference_realesrgan_video.py',
    'setup.py',
    'requirements.txt',
    'pyproject.toml',
)


def make_checkout(folder: Path) -> Path:
    """A copy of the checkout's code, configs and sample images; outputs of the blocks land in it."""
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '.pytest_cache', '.venv*')
    for name in COPIED:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, folder / name)
    if (REPO_ROOT / 'weights').is_dir():
        (folder / 'weights').symlink_to(REPO_ROOT / 'weights', target_is_directory=True)
    return folder


def bash_environment(checkout: Path) -> Dict[str, str]:
    return dict(
        os.environ,
        PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''),
        PYTHONPATH=str(checkout),
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHONWARNINGS='ignore',
    )


def _run_params() -> List[Any]:
    params = []
    for path in DOCS:
        runnable = [block for block in code_blocks((path,)) if 'runnable' in block.flags]
        quick = [block for block in runnable if 'slow' not in block.flags]
        for name, blocks, slow in (('quick', quick, False), ('all', runnable, True)):
            if not blocks or (slow and len(blocks) == len(quick)):
                continue
            marks = [pytest.mark.slow] if slow else []
            if any(block.lang == 'bash' for block in blocks):
                marks.append(pytest.mark.subprocess)
            if any('weights' in block.flags for block in blocks):
                marks.append(pytest.mark.weights)
            params.append(pytest.param(path, slow, id=f'{path}-{name}', marks=marks))
    return params


@pytest.mark.parametrize(('path', 'with_slow'), _run_params())
def test_runnable_blocks_run(path, with_slow, tmp_path, monkeypatch, one_torch_thread):
    checkout = make_checkout(tmp_path / 'checkout')
    monkeypatch.chdir(checkout)
    namespace: Dict[str, Any] = {'__name__': '__doc_block__'}
    for block in code_blocks((path,)):
        if 'runnable' not in block.flags or ('slow' in block.flags and not with_slow):
            continue
        if block.lang == 'python':
            exec(compile(block.code, block.where, 'exec'), namespace)  # noqa: S102 (the documents' own examples)
        elif block.lang == 'bash':
            result = subprocess.run(
                ['bash', '-euo', 'pipefail', '-c', block.code],
                cwd=checkout,
                env=bash_environment(checkout),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=600,
            )
            assert result.returncode == 0, f'{block.where} exited with {result.returncode}:\n{result.stdout[-4000:]}'
        else:
            pytest.fail(f'{block.where}: only bash and python blocks can be runnable')


def test_doc_inventory():
    """The figures of the doc test: blocks run, blocks parsed, names checked (printed with -s)."""
    blocks = code_blocks()
    runnable = [block for block in blocks if 'runnable' in block.flags]
    counts, per_guide, distinct = Counter(), {}, set()
    for path in DOCS:
        found, _ = name_report(path)
        counts.update(found)
        if path in GUIDE_TREE:
            per_guide[path] = sum(found[kind] for kind in CHECKED_KINDS)
            distinct.update(text for _, text in document(path).spans() if check_span(text, path).kind in CHECKED_KINDS)
    spans = sum(counts[kind] for kind in CHECKED_KINDS)
    print(
        f'\nblocks: {len(blocks)} parsed (bash -n / ast.parse / yaml.safe_load), {len(runnable)} of them run '
        f'({sum("slow" not in block.flags for block in runnable)} quick, '
        f'{sum("slow" in block.flags for block in runnable)} slow)'
        f'\nnames checked in the guides: {spans} code spans ({len(distinct)} distinct; '
        f'{", ".join(f"{kind} {counts[kind]}" for kind in CHECKED_KINDS)}), '
        f'{counts["signature"]} signature stubs; in all documents: {counts["link"]} links, '
        f'{counts["import"]} imports, {counts["command"]} command lines; '
        f'not names: {counts["literal"]} literals, {counts["runtime-path"]} paths made at run time'
    )
    for path, number in per_guide.items():
        print(f'  {path}: {number} code spans checked')
    # every guide names what it describes and shows something that runs
    assert all(number >= 20 for number in per_guide.values()), per_guide
    assert {block.doc for block in runnable} >= set(GUIDES)
