"""How the package imports its modules: every ``*_<kind>.py`` file of a plugin subpackage, and exports on demand.

BasicSR finds components by name in its registries; a class lands there when the module that defines it is
imported. The ``archs``, ``data`` and ``models`` subpackages call :func:`import_sibling_modules` from their
``__init__`` so that adding a component is only adding a file. :func:`lazy_exports` lets ``realesrgan`` and
``realesrgan.zoo`` export names without importing torch until one is used.
"""

import functools
import importlib
import pkgutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, List, Mapping, Tuple


def import_sibling_modules(package_name: str, package_file: str, suffix: str) -> List[ModuleType]:
    """Import all modules named ``*<suffix>.py`` that sit beside ``package_file``.

    Args:
        package_name: Dotted name of the package, e.g. ``'realesrgan.archs'``.
        package_file: The package's ``__init__.py`` path (pass ``__file__``).
        suffix: File-name ending without ``.py``, e.g. ``'_arch'``.

    Returns:
        The imported modules, sorted by file name.
    """
    folder = Path(package_file).resolve().parent
    names = sorted(path.stem for path in folder.glob(f'*{suffix}.py'))
    return [importlib.import_module(f'{package_name}.{name}') for name in names]


def lazy_exports(package_name: str, names: Mapping[str, str]) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose exports load on first access (PEP 562).

    A package that re-exports names from heavy modules (torch, BasicSR) stays quick to import this way: each name's
    module is imported when the name is first read, and the value is then kept in the package. Submodules are
    attributes too (``package.sub`` without ``import package.sub``), as they were when the package imported them.

    Args:
        package_name: Dotted name of the package (pass ``__name__``).
        names: Exported name -> dotted name of the module that defines it.

    Returns:
        ``(__getattr__, __dir__)``, to assign at the package's top level.
    """
    package = sys.modules[package_name]

    @functools.lru_cache(maxsize=None)
    def submodules() -> List[str]:  # the folder is read once, on the first unknown name
        return [info.name for info in pkgutil.iter_modules(package.__path__)]

    def __getattr__(name: str) -> Any:  # noqa: N807 (the module hook's name)
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
        elif not name.startswith('_') and name in submodules():
            value = importlib.import_module(f'{package_name}.{name}')
        else:
            raise AttributeError(f'module {package_name!r} has no attribute {name!r}')
        setattr(package, name, value)
        return value

    def __dir__() -> List[str]:  # noqa: N807 (the module hook's name)
        return sorted({*vars(package), *names, *submodules()})

    return __getattr__, __dir__
