"""The package's layers: every import goes from a higher layer to a lower one (or within one), never back up.

The order is the one docs/architecture.md states. Every ``import`` counts, at the top of a module or inside a
function, so a lazily imported module cannot climb back up either. Run this file alone to see every offending
import: ``python -m pytest tests/package/test_layers.py``.
"""

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / 'realesrgan'

# lowest first; a module may import its own layer and the layers before it
LAYERS: List[Tuple[str, ...]] = [
    ('version', 'discovery', 'compat', 'suggest'),
    ('fileio',),
    ('archs',),
    ('zoo',),
    ('inference',),
    ('metrics',),
    ('data', 'models'),
    ('training',),
    ('execution',),
    ('batch', 'video', 'evaluation', 'export'),
    ('cli',),
    ('web',),
    ('__init__', 'utils', 'train'),
]
RANK: Dict[str, int] = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def part_of(module: str) -> str:
    """The layer part of a dotted module name inside the package: ``realesrgan.zoo.ncnn`` -> ``zoo``."""
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else '__init__'


def package_imports() -> Iterator[Tuple[str, int, str]]:
    """``(file, line, imported module)`` for every import of a ``realesrgan`` module inside the package."""
    for path in sorted(PACKAGE.rglob('*.py')):
        tree = ast.parse(path.read_text(encoding='utf-8'))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f'{node.module}.{alias.name}' for alias in node.names]
            else:
                continue
            for name in names:
                if name == 'realesrgan' or name.startswith('realesrgan.'):
                    yield str(path.relative_to(PACKAGE.parent)), node.lineno, name


def module_name(file: str) -> str:
    """``realesrgan/zoo/ncnn.py`` -> ``realesrgan.zoo.ncnn``; ``realesrgan/x/__init__.py`` -> ``realesrgan.x``."""
    module = file[: -len('.py')].replace('/', '.')
    return module[: -len('.__init__')] if module.endswith('.__init__') else module


def test_every_folder_of_the_package_has_a_layer():
    folders = {path.parent.name for path in PACKAGE.glob('*/__init__.py')}
    modules = {path.stem for path in PACKAGE.glob('*.py')}
    assert sorted((folders | modules) - set(RANK)) == []


def test_no_import_climbs_to_a_higher_layer():
    climbing = []
    for file, line, name in package_imports():
        source, target = part_of(module_name(file)), part_of(name)
        if target in RANK and RANK[target] > RANK[source]:
            climbing.append(f'{file}:{line} imports {name} ({source} -> {target})')
    assert climbing == []


@pytest.mark.parametrize('layer', [parts for parts in LAYERS if len(parts) > 1], ids=lambda parts: '+'.join(parts))
def test_the_parts_of_one_layer_do_not_import_each_other_both_ways(layer):
    edges = {
        (part_of(module_name(file)), part_of(name))
        for file, _, name in package_imports()
        if part_of(module_name(file)) in layer and part_of(name) in layer
    }
    assert sorted((a, b) for a, b in edges if a < b and (b, a) in edges) == []


def test_no_module_import_circle():
    """No two modules import each other, directly or through others (imports at the top of a module)."""
    graph: Dict[str, set] = {}
    for path in sorted(PACKAGE.rglob('*.py')):
        module = module_name(str(path.relative_to(PACKAGE.parent)))
        tree = ast.parse(path.read_text(encoding='utf-8'))
        targets = set()
        for node in tree.body:  # module level only: imports inside functions run after both modules exist
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or '').startswith('realesrgan.'):
                # `from realesrgan.metrics import psnr` imports the module realesrgan.metrics.psnr
                targets |= {_submodule_or_package(node.module, alias.name) for alias in node.names}
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names if alias.name.startswith('realesrgan.')}
        graph[module] = targets
    circles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            module, trail = stack.pop()
            for target in graph.get(module, ()):
                if target == start and len(trail) > 1:
                    circles.append(' -> '.join(trail + [start]))
                elif target not in seen and target in graph:
                    seen.add(target)
                    stack.append((target, trail + [target]))
    assert circles == []


def _submodule_or_package(package: str, name: str) -> str:
    submodule = PACKAGE.parent / f'{package}.{name}'.replace('.', '/')
    return f'{package}.{name}' if submodule.with_suffix('.py').exists() or submodule.is_dir() else package
