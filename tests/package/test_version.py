"""The package version: one source of truth, and the git revision of the checkout."""

import re

from helpers import REPO_ROOT

import realesrgan


def test_version_attributes():
    from realesrgan import version

    assert realesrgan.__version__ == version.__version__
    assert realesrgan.version_info == tuple(int(v) for v in realesrgan.__version__.split('.'))
    assert re.fullmatch(r'[0-9a-f]{7}|unknown', realesrgan.__gitsha__)
    setup_text = (REPO_ROOT / 'setup.py').read_text()
    assert 'read_version()' in setup_text  # setup.py takes the version from version.py, one source of truth


def test_git_sha_is_read_from_the_checkout(tmp_path):
    from realesrgan.version import _read_git_sha

    git_dir = tmp_path / '.git'
    (git_dir / 'refs' / 'heads').mkdir(parents=True)
    (git_dir / 'HEAD').write_text('ref: refs/heads/main\n')
    (git_dir / 'refs' / 'heads' / 'main').write_text('0123456789abcdef0123456789abcdef01234567\n')
    assert _read_git_sha(tmp_path) == '0123456'
    (git_dir / 'refs' / 'heads' / 'main').unlink()
    (git_dir / 'packed-refs').write_text('# pack-refs\nfedcba9876543210fedcba9876543210fedcba98 refs/heads/main\n')
    assert _read_git_sha(tmp_path) == 'fedcba9'
    assert _read_git_sha(tmp_path / 'nowhere') is None
