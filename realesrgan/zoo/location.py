"""Where downloaded and converted weights live: one folder, found the same way by every entry point.

The order, evaluated at each call (so that a changed environment is seen at once):

1. the folder the caller gives (``--weights_dir`` / ``--model_dir``, or a ``weights_dir`` argument);
2. the environment variable ``REALESRGAN_WEIGHTS``;
3. ``weights/`` of the checkout when the package runs from one (the original's place: the folder that holds
   ``realesrgan/`` also holds ``setup.py`` and ``inference_realesrgan.py``);
4. the user cache: ``$XDG_CACHE_HOME/realesrgan/weights``, by default ``~/.cache/realesrgan/weights``.

An installed package (``pip install realesrgan``, a wheel) is not a checkout, so it never writes beside itself
in site-packages, and a run never writes into the working folder unless asked to.
"""

import os
from pathlib import Path
from typing import NamedTuple, Optional

__all__ = ['WEIGHTS_ENV', 'WeightsLocation', 'checkout_root', 'default_weights_location', 'resolve_weights_dir']

WEIGHTS_ENV = 'REALESRGAN_WEIGHTS'
# files beside the package that only a checkout of the project has (a wheel carries the package alone)
_CHECKOUT_MARKERS = ('setup.py', 'inference_realesrgan.py')


class WeightsLocation(NamedTuple):
    """The weights folder and why it was chosen.

    Attributes:
        path: The folder (it may not exist yet; it is created on the first download or conversion).
        source: Where it came from: ``'$REALESRGAN_WEIGHTS'``, ``'checkout'`` or ``'user cache'``.
    """

    path: str
    source: str


def checkout_root() -> Optional[str]:
    """The project checkout the package was imported from, or None for an installed package.

    Returns:
        The folder that holds ``realesrgan/``, ``setup.py`` and ``inference_realesrgan.py``; None otherwise
        (e.g. site-packages, or a ``pip install --target`` folder).
    """
    root = Path(__file__).resolve().parents[2]
    return str(root) if all((root / marker).is_file() for marker in _CHECKOUT_MARKERS) else None


def _user_cache() -> str:
    # the XDG base directory rules: a relative XDG_CACHE_HOME is invalid and ignored
    cache = os.environ.get('XDG_CACHE_HOME', '')
    if not os.path.isabs(cache):
        cache = os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(cache, 'realesrgan', 'weights')


def default_weights_location() -> WeightsLocation:
    """The weights folder when the caller names none: ``$REALESRGAN_WEIGHTS``, else the checkout, else the cache.

    Returns:
        The folder (absolute) and its source.
    """
    configured = os.environ.get(WEIGHTS_ENV, '').strip()
    if configured:
        return WeightsLocation(os.path.abspath(os.path.expanduser(configured)), f'${WEIGHTS_ENV}')
    root = checkout_root()
    if root is not None:
        return WeightsLocation(os.path.join(root, 'weights'), 'checkout')
    return WeightsLocation(_user_cache(), 'user cache')


def resolve_weights_dir(weights_dir: Optional[str] = None) -> str:
    """The weights folder to use: ``weights_dir`` when given, else :func:`default_weights_location`.

    Args:
        weights_dir: The caller's folder (``--weights_dir``), used as given; None or empty for the default.

    Returns:
        The folder.
    """
    return weights_dir or default_weights_location().path
