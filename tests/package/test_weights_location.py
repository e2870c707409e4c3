"""The one weights folder: the caller's, else $REALESRGAN_WEIGHTS, else the checkout's weights/, else the user cache."""

import os
from pathlib import Path

import pytest
from helpers import REPO_ROOT

from realesrgan import train
from realesrgan.cli import image as image_cli
from realesrgan.cli import video as video_cli
from realesrgan.inference.model_choice import choose_model
from realesrgan.zoo import WEIGHTS_ENV, default_weights_location, location, resolve_weights_dir


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No $REALESRGAN_WEIGHTS, and a home folder of the test's own (without XDG_CACHE_HOME)."""
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.delenv('XDG_CACHE_HOME', raising=False)
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    return tmp_path


def fake_package(root: Path, markers=('setup.py', 'inference_realesrgan.py')) -> str:
    """A ``realesrgan/zoo/location.py`` under ``root``, with the given checkout files beside ``realesrgan/``."""
    module = root / 'realesrgan' / 'zoo' / 'location.py'
    module.parent.mkdir(parents=True)
    module.write_text('')
    for name in markers:
        (root / name).write_text('')
    return str(module)


def test_this_checkout_keeps_its_weights_in_weights(clean_env):
    assert location.checkout_root() == str(REPO_ROOT)
    assert default_weights_location() == (str(REPO_ROOT / 'weights'), 'checkout')


@pytest.mark.parametrize('markers', [(), ('setup.py',), ('inference_realesrgan.py',)])
def test_an_installed_package_uses_the_user_cache(clean_env, monkeypatch, markers):
    """site-packages (or a --target folder) lacks the checkout's files: weights go to ~/.cache, never beside it."""
    monkeypatch.setattr(location, '__file__', fake_package(clean_env / 'site-packages', markers))
    assert location.checkout_root() is None
    expected = clean_env / 'home' / '.cache' / 'realesrgan' / 'weights'
    assert default_weights_location() == (str(expected), 'user cache')


def test_a_checkout_is_found_by_its_files(clean_env, monkeypatch):
    monkeypatch.setattr(location, '__file__', fake_package(clean_env / 'clone'))
    assert default_weights_location() == (str(clean_env / 'clone' / 'weights'), 'checkout')


def test_xdg_cache_home_is_honoured_when_absolute(clean_env, monkeypatch):
    monkeypatch.setattr(location, '__file__', fake_package(clean_env / 'site-packages', ()))
    monkeypatch.setenv('XDG_CACHE_HOME', str(clean_env / 'xdg'))
    assert default_weights_location().path == str(clean_env / 'xdg' / 'realesrgan' / 'weights')
    monkeypatch.setenv('XDG_CACHE_HOME', 'relative/cache')  # invalid by the XDG rules: ignored
    assert default_weights_location().path == str(clean_env / 'home' / '.cache' / 'realesrgan' / 'weights')


def test_the_environment_variable_wins_over_checkout_and_cache(clean_env, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(clean_env / 'mine'))
    assert default_weights_location() == (str(clean_env / 'mine'), f'${WEIGHTS_ENV}')
    monkeypatch.chdir(clean_env)
    monkeypatch.setenv(WEIGHTS_ENV, 'relative')  # made absolute at the time of the call, ~ expanded
    assert default_weights_location().path == str(clean_env / 'relative')
    monkeypatch.setenv(WEIGHTS_ENV, '~/w')
    assert default_weights_location().path == str(clean_env / 'home' / 'w')
    monkeypatch.setenv(WEIGHTS_ENV, '  ')  # blank counts as unset
    assert default_weights_location().source == 'checkout'


def test_the_callers_folder_wins_over_everything(clean_env, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(clean_env / 'env'))
    assert resolve_weights_dir(str(clean_env / 'flag')) == str(clean_env / 'flag')
    assert resolve_weights_dir(None) == resolve_weights_dir('') == str(clean_env / 'env')


@pytest.mark.parametrize('cli', [image_cli, video_cli])
def test_both_commands_print_the_location_in_their_help(clean_env, monkeypatch, cli):
    monkeypatch.setenv(WEIGHTS_ENV, str(clean_env / 'chosen%weights'))
    monkeypatch.setenv('COLUMNS', '10000')  # argparse wraps at the terminal width, also inside paths
    text = ' '.join(cli.build_parser().format_help().split())
    assert f'here: {clean_env / "chosen%weights"} (${WEIGHTS_ENV})' in text
    assert f'${WEIGHTS_ENV} if set, else weights/ of the checkout' in text
    args = cli.build_parser().parse_args([])
    assert args.weights_dir is None  # resolved when used, so a job sees the environment of its own time


def test_choose_model_reads_the_environment_at_call_time(clean_env, monkeypatch):
    """A file in the weights folder of $REALESRGAN_WEIGHTS names the folder in the error of a bad location."""
    blocker = clean_env / 'blocker'
    blocker.write_text('not a folder')
    monkeypatch.setenv(WEIGHTS_ENV, str(blocker))
    with pytest.raises(ValueError, match=f'weights_dir "{blocker}" is a file'):
        choose_model('realesr-animevideov3')


def test_training_of_an_installed_package_writes_under_the_working_folder(clean_env, monkeypatch):
    roots = []
    monkeypatch.setattr(train, 'run_training', lambda root, argv, warn: roots.append(root))
    monkeypatch.setattr(train, 'checkout_root', lambda: None)
    monkeypatch.chdir(clean_env)
    assert train.main() == 0
    assert roots == [os.getcwd()]
    monkeypatch.undo()
    monkeypatch.setattr(train, 'run_training', lambda root, argv, warn: roots.append(root))
    assert train.main() == 0
    assert roots[-1] == str(REPO_ROOT)  # in a checkout: experiments/ of the checkout, as the original
