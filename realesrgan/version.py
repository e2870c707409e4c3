"""Package version, and the git commit the package was loaded from (``'unknown'`` outside a git checkout)."""

from pathlib import Path
from typing import Optional, Tuple

__all__ = ['__version__', '__gitsha__', 'version_info']

__version__ = '0.4.0'
version_info: Tuple[int, ...] = tuple(int(part) for part in __version__.split('.'))


def _read_git_sha(repo_root: Path) -> Optional[str]:
    """Return the short commit hash of ``HEAD`` by reading ``.git`` directly (no subprocess)."""
    git_dir = repo_root / '.git'
    try:
        head = (git_dir / 'HEAD').read_text().strip()
        if not head.startswith('ref: '):
            return head[:7]
        ref = head[len('ref: ') :]
        ref_file = git_dir / ref
        if ref_file.is_file():
            return ref_file.read_text().strip()[:7]
        for line in (git_dir / 'packed-refs').read_text().splitlines():
            if line.endswith(' ' + ref):
                return line.split()[0][:7]
    except OSError:
        return None
    return None


__gitsha__ = _read_git_sha(Path(__file__).resolve().parent.parent) or 'unknown'
