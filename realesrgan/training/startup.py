"""What the training command knows before torch and BasicSR load: its error, its exit statuses, its flags' first
parse, and whether there is an options file to read.

``python realesrgan/train.py -opt MISSING.yml`` answers from here in a fraction of a second; everything else about the
options is checked by :mod:`realesrgan.training.option_checks` once the training code is loaded
(:mod:`realesrgan.training.run`).
"""

import argparse
import os
from typing import Optional, Sequence

__all__ = [
    'EXAMPLE_OPTIONS',
    'EXIT_NOT_STARTED',
    'EXIT_STOPPED',
    'TRACEBACK_ENV',
    'TrainingError',
    'options_path_problem',
    'pre_parse',
    'startup_problem',
    'traceback_requested',
]

EXAMPLE_OPTIONS = 'options/demo_realesrnet_x4plus.yml'
TRACEBACK_ENV = 'REALESRGAN_TRACEBACK'
"""Environment variable: set to 1 to get the full traceback of a failed run (as ``--debug`` does)."""
EXIT_NOT_STARTED = 2
"""Exit status of a run that failed before its first training iteration (options, arguments, data, setup)."""
EXIT_STOPPED = 1
"""Exit status of a run that failed after training had started."""


class TrainingError(RuntimeError):
    """A training run that could not start or stopped; the message is one line.

    Args:
        message: What went wrong, where, and what to do.
        exit_status: :data:`EXIT_NOT_STARTED` or :data:`EXIT_STOPPED`.
    """

    def __init__(self, message: str, exit_status: int) -> None:
        super().__init__(message)
        self.exit_status = exit_status


class _QuietParser(argparse.ArgumentParser):
    """An argument parser that raises instead of printing usage and exiting: BasicSR's parser reports."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ValueError(message)


def pre_parse(argv: Sequence[str]) -> Optional[argparse.Namespace]:
    """The few of BasicSR's flags the checks need, or None when the command line is malformed (BasicSR's own
    parser then says what is wrong, with its usage).

    Args:
        argv: The command-line arguments (without the program name).
    """
    parser = _QuietParser(add_help=False)
    parser.add_argument('-opt', type=str, default=None)
    parser.add_argument('--force_yml', nargs='+', default=None)
    parser.add_argument('--debug', action='store_true')
    parser.add_argument('--launcher', default='none')
    try:
        args, _ = parser.parse_known_args(list(argv))
    except ValueError:
        return None
    return args


def options_path_problem(path: Optional[str]) -> Optional[str]:
    """What is wrong with ``-opt`` as a path (none given, no such file, a folder), or None.

    Args:
        path: The ``-opt`` argument.
    """
    if not path:
        return f'no options file given: run python realesrgan/train.py -opt <file>.yml, e.g. -opt {EXAMPLE_OPTIONS}'
    if not os.path.exists(path):
        return (
            f'options file "{path}" does not exist (relative paths start from {os.getcwd()}); give -opt '
            f'the path of a YAML options file, e.g. {EXAMPLE_OPTIONS}'
        )
    if os.path.isdir(path):
        return f'-opt "{path}" is a folder; give the YAML options file in it, e.g. {EXAMPLE_OPTIONS}'
    return None


def startup_problem(argv: Sequence[str]) -> Optional[str]:
    """The one-line reason a training command line cannot start that is known before anything loads, or None.

    A malformed command line or ``--help`` is BasicSR's parser's to answer, so it gives None here.

    Args:
        argv: The command-line arguments (without the program name).
    """
    args = pre_parse(argv)
    if args is None or '-h' in argv or '--help' in argv:
        return None
    return options_path_problem(args.opt)


def traceback_requested(argv: Sequence[str]) -> bool:
    """Whether the user asked for full tracebacks: ``--debug`` on the command line or ``REALESRGAN_TRACEBACK=1``.

    Args:
        argv: The command-line arguments (without the program name).
    """
    if os.environ.get(TRACEBACK_ENV, '').strip().lower() in ('1', 'true', 'yes', 'on'):
        return True
    args = pre_parse(argv)
    return bool(args and args.debug)
