"""PyAV, which decodes and encodes the video, is an optional dependency: say in one line what to install.

This module imports nothing but the standard library, so that :func:`require_pyav` runs before anything that
needs PyAV is imported (``realesrgan.video`` calls it first).
"""

import importlib

INSTALL_HINT = 'pip install av (in a clone of this project: pip install -e ".[video]")'


def require_pyav() -> None:
    """Make sure PyAV (the ``av`` module) can be imported.

    Raises:
        ImportError: A one-line message: PyAV is not installed (and the command that installs it), or it is
            installed but cannot be imported (the cause, and how to reinstall it).
    """
    try:
        importlib.import_module('av')
    except ModuleNotFoundError as exc:
        if exc.name == 'av':
            message = f'video upscaling needs PyAV, which is not installed: {INSTALL_HINT}'
            raise ImportError(message, name='av') from None
        cause = exc
    except ImportError as exc:
        cause = exc
    else:
        return
    reason = ' '.join(str(cause).split())
    raise ImportError(
        f'PyAV is installed but cannot be imported ({reason}); reinstall it: pip install --force-reinstall av',
        name='av',
    ) from None
