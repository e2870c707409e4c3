"""Import every ``*_<kind>.py`` file of a subpackage, so that its classes register themselves.

BasicSR finds components by name in its registries; a class lands there when the module that defines it is
imported. The ``archs``, ``data`` and ``models`` subpackages call :func:`import_sibling_modules` from their
``__init__`` so that adding a component is only adding a file.
"""

import importlib
from pathlib import Path
from types import ModuleType
from typing import List


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
