"""A training run of BasicSR's ``train_pipeline``: options checked first, one line on failure, nothing half-made left.

:func:`run_training` reads and checks the options file (:mod:`realesrgan.training.option_checks`) and the launcher
(:func:`launcher_settings`: ``--local_rank`` / ``--local-rank`` of older launchers, the process-group backend), then
runs BasicSR's ``train_pipeline`` unchanged, with a few of the functions it calls wrapped for the length of the run.
The wrappers note which step is running (building a dataset, the model, iteration N), so that a failure can say
where it happened, and which folders ``mkdir_and_rename`` made (``experiments/<name>``, ``tb_logger/<name>``).

A run that fails before its first training iteration trained nothing, so it leaves nothing behind: the folders it
made are removed, and a folder BasicSR had renamed to ``<name>_archived_<time>`` to make room is renamed back. A
run that fails later keeps its folder (logs, checkpoints) so that it can go on with ``--auto_resume``.
"""

import contextlib
import glob
import logging
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, List, Mapping, Optional, Sequence, Tuple

import basicsr.train as basicsr_train
import torch

from realesrgan.compat import train_pipeline_wrapped
from realesrgan.fileio.atomic import remove_stale_partials
from realesrgan.training.experiment_lock import ExperimentBusyError, ExperimentLock
from realesrgan.training.option_checks import OptionsError, apply_force_yml, check_training_options, load_options_file
from realesrgan.training.startup import (
    EXIT_NOT_STARTED,
    EXIT_STOPPED,
    TRACEBACK_ENV,
    TrainingError,
    pre_parse,
    traceback_requested,
)

__all__ = [
    'TrainingError',
    'run_training',
    'traceback_requested',
    'launcher_settings',
    'LauncherSettings',
    'one_line',
    'TRACEBACK_ENV',
    'EXIT_NOT_STARTED',
    'EXIT_STOPPED',
]

# exception types whose message says enough without its type name (by name: DataLoader workers give names)
_PLAIN_ERRORS = (ValueError, OSError, KeyError)
_PLAIN_NAMES = frozenset(
    {
        'ValueError',
        'KeyError',
        'OSError',
        'FileNotFoundError',
        'PermissionError',
        'IsADirectoryError',
        'NotADirectoryError',
        'OptionsError',
    }
)


LOCAL_RANK_FLAGS = ('--local_rank', '--local-rank')
"""The flags older launchers add (``torch.distributed.launch`` writes ``--local-rank=N`` since torch 2.0)."""


@dataclass
class LauncherSettings:
    """How the processes of a run find each other, read from the command line, the environment and the options.

    Attributes:
        argv: The command line for BasicSR, without ``--local_rank`` / ``--local-rank`` (``LOCAL_RANK`` carries it).
        backend: Process-group backend for ``--launcher pytorch`` (``dist_params.backend``, gloo without CUDA), or
            None for other launchers.
        warnings: Lines to show once (on the first process).
    """

    argv: List[str]
    backend: Optional[str] = None
    warnings: List[str] = field(default_factory=list)


def _take_local_rank(argv: Sequence[str]) -> Tuple[List[str], Optional[str]]:
    """Remove ``--local_rank N``, ``--local-rank N`` and their ``=N`` forms; returns the rest and the last N."""
    rest, value, items = [], None, list(argv)
    index = 0
    while index < len(items):
        item = items[index]
        flag, equals, attached = item.partition('=')
        if flag in LOCAL_RANK_FLAGS:
            if equals:
                value = attached
            elif index + 1 < len(items):
                value, index = items[index + 1], index + 1
            else:
                raise ValueError(f'{flag} needs the local rank of this process, e.g. {flag}=0')
            if not value.isdigit():
                raise ValueError(f'{flag} is {value!r}; it must be the whole number of this process on its machine')
        else:
            rest.append(item)
        index += 1
    return rest, value


def launcher_settings(argv: Sequence[str], opt: Optional[Mapping[str, Any]], launcher: str) -> LauncherSettings:
    """Read the launcher's view of this process: local rank, backend, and what cannot work.

    ``--local_rank`` / ``--local-rank`` (given by ``torch.distributed.launch`` and other older launchers) becomes
    the ``LOCAL_RANK`` environment variable, which ``torchrun`` sets itself and the device choice reads; a value
    already in the environment wins. For ``--launcher pytorch`` the backend is ``dist_params.backend`` (BasicSR
    passed it for slurm only), nccl by default; nccl without CUDA becomes gloo, with a warning.

    Args:
        argv: The command-line arguments (without the program name).
        opt: The options dict (for ``dist_params``), or None when it could not be read.
        launcher: The ``--launcher`` value (``none``, ``pytorch`` or ``slurm``).

    Returns:
        The settings.

    Raises:
        ValueError: A malformed ``--local-rank``, or a launcher that cannot start here; the message is one line.
    """
    rest, local_rank = _take_local_rank(argv)
    if local_rank is not None:
        os.environ.setdefault('LOCAL_RANK', local_rank)
    settings = LauncherSettings(rest)
    cuda = torch.cuda.is_available()
    if launcher == 'slurm' and not cuda:
        raise ValueError(
            '--launcher slurm needs CUDA GPUs and this machine has none; on CPUs start the processes with torchrun '
            '(--launcher pytorch)'
        )
    if launcher != 'pytorch':
        return settings
    if 'RANK' not in os.environ or 'WORLD_SIZE' not in os.environ:
        raise ValueError(
            '--launcher pytorch needs the RANK and WORLD_SIZE a launcher sets: start it with torchrun '
            '--nproc_per_node=N realesrgan/train.py ... (see README: Training), or leave out --launcher'
        )
    dist_params = (opt or {}).get('dist_params') or {}
    settings.backend = str(dist_params.get('backend') or 'nccl')
    if settings.backend == 'nccl' and not cuda:
        settings.backend = 'gloo'
        settings.warnings.append(
            'dist_params.backend is nccl, which needs CUDA GPUs, and this machine has none: the processes use the '
            'gloo backend on the CPU instead (set dist_params.backend: gloo to say so)'
        )
    return settings


def one_line(error: BaseException) -> str:
    """An exception as one line of text.

    Errors re-raised by a DataLoader worker carry the worker's whole traceback in their message: only its last
    line (the original error) is kept. A ``KeyError`` becomes "missing key ...".

    Args:
        error: The exception.

    Returns:
        The message on one line, with the type name in front unless the message speaks for itself.
    """
    text, name = str(error), type(error).__name__
    if 'Original Traceback' in text:  # torch.utils.data's ExceptionWrapper
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        match = re.match(r'^([\w.]+): (.*)$', lines[-1])
        name, text = (match.group(1).rsplit('.', 1)[-1], match.group(2)) if match else (name, lines[-1])
        plain = name in _PLAIN_NAMES
    elif isinstance(error, KeyError) and len(error.args) == 1:
        text, plain = f'missing key {error.args[0]!r}', True
    else:
        plain = isinstance(error, _PLAIN_ERRORS)
    text = ' '.join(text.split()) or '(no message)'
    return text if plain else f'{name}: {text}'


@dataclass
class _MadeFolder:
    """A folder ``mkdir_and_rename`` made, the old folder it renamed out of the way, the parents it created."""

    path: str
    archived: Optional[str]
    new_parents: List[str]


def _missing_parents(path: str) -> List[str]:
    """The parent folders of ``path`` that do not exist yet, deepest first."""
    missing, parent = [], os.path.dirname(os.path.abspath(path))
    while parent and not os.path.exists(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    return missing


def _close_log_files_under(folder: str) -> None:
    """Detach and close BasicSR's log file handlers that write into ``folder``."""
    prefix = os.path.abspath(folder) + os.sep
    for logger in (logging.getLogger('basicsr'), logging.getLogger()):
        for handler in list(logger.handlers):
            if isinstance(handler, logging.FileHandler) and handler.baseFilename.startswith(prefix):
                logger.removeHandler(handler)
                handler.close()


def _init_dist_with(backend: Optional[str]) -> Callable[[Callable], Callable]:
    """Make BasicSR's ``parse_options`` start the process group with ``backend`` (it passes nccl, always)."""

    def wrap(init_dist: Callable) -> Callable:
        def init_dist_with_backend(launcher: str, **kwargs: Any) -> None:
            init_dist(launcher, **dict(kwargs, backend=backend))

        return init_dist_with_backend

    return wrap


class _ConsoleSkipsDumps(logging.Filter):
    """Keeps BasicSR's multi-line dumps (the version banner, every option) off the console; the log file has them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith('\n') and record.msg.count('\n') > 3)


@dataclass
class _RunWatch:
    """What the wrapped BasicSR functions noted about the run: step, iterations done, folders made."""

    debug: bool
    step: str = 'reading the options'
    iterations_done: int = 0
    experiments_root: Optional[str] = None
    made: List[_MadeFolder] = field(default_factory=list)
    lock: Optional[ExperimentLock] = None
    backend: Optional[str] = None

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Wrap the functions ``train_pipeline`` calls for the length of the block."""
        wrappers = {
            'parse_options': lambda parse_options: self._step(
                parse_options,
                'reading the command line and starting the processes',
                'loading the training state',
                self._after_parse,
            ),
            'build_dataset': self._build_dataset,
            'build_model': self._build_model,
            'mkdir_and_rename': self._mkdir_and_rename,
            'get_root_logger': self._get_root_logger,
        }
        if self.backend is not None:
            wrappers['init_dist'] = _init_dist_with(self.backend)
        with train_pipeline_wrapped(wrappers):
            yield

    def release_lock(self) -> None:
        """Let go of the experiment's lock (after undoing what a run that trained nothing made)."""
        if self.lock is not None:
            self.lock.release()

    def _step(self, function: Callable, during: str, after: str, noted: Optional[Callable] = None) -> Callable:
        """Wrap ``function``: the step is ``during`` while it runs, ``after`` once it returned."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.step = during
            result = function(*args, **kwargs)
            if noted:
                noted(result)
            self.step = after
            return result

        return wrapper

    def _after_parse(self, result: Any) -> None:
        opt = result[0]
        self.experiments_root = opt['path'].get('experiments_root')
        if self.experiments_root and opt.get('rank', 0) == 0:
            self.lock = ExperimentLock(self.experiments_root)
            self.lock.acquire()  # before anything of the experiment is read, renamed or made
            for folder in ('models', 'training_states'):  # what a run killed while saving left
                remove_stale_partials(opt['path'].get(folder) or '')

    def _build_dataset(self, build_dataset: Callable) -> Callable:
        def wrapper(dataset_opt: Any) -> Any:
            self.step = (
                f'building the {dataset_opt.get("phase")} dataset "{dataset_opt.get("name")}" '
                f'({dataset_opt.get("type")})'
            )
            return build_dataset(dataset_opt)

        return wrapper

    def _build_model(self, build_model: Callable) -> Callable:
        def wrapper(opt: Any) -> Any:
            self.step = f'building the model ({opt.get("model_type")})'
            model = build_model(opt)
            optimize_parameters = model.optimize_parameters

            def counted_optimize_parameters(current_iter: int) -> None:
                self.step = f'in training iteration {current_iter}'
                optimize_parameters(current_iter)
                self.iterations_done += 1
                self.step = f'after training iteration {current_iter}'

            model.optimize_parameters = counted_optimize_parameters  # this run's model object only
            self.step = 'reading the first training batch'
            return model

        return wrapper

    def _mkdir_and_rename(self, mkdir_and_rename: Callable) -> Callable:
        def wrapper(path: str) -> None:
            self.step = 'preparing the experiment folder and the loggers'
            new_parents = _missing_parents(path)
            pattern = f'{glob.escape(path)}_archived_*'
            before = set(glob.glob(pattern))
            mkdir_and_rename(path)
            archived = sorted(set(glob.glob(pattern)) - before)
            self.made.append(_MadeFolder(path, archived[-1] if archived else None, new_parents))

        return wrapper

    def _get_root_logger(self, get_root_logger: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> logging.Logger:
            logger = get_root_logger(*args, **kwargs)
            if kwargs.get('log_file'):
                self._dumps_to_the_log_file_only(logger, kwargs['log_file'])
            if self.debug and kwargs.get('log_file'):
                # --debug: debug records (e.g. the network structures) go to the log file, not to the console
                logger.setLevel(logging.DEBUG)
                for handler in logger.handlers:
                    if isinstance(handler, logging.FileHandler):
                        handler.setLevel(logging.DEBUG)
                    elif handler.level == logging.NOTSET:
                        handler.setLevel(logging.INFO)
            return logger

        return wrapper

    @staticmethod
    def _dumps_to_the_log_file_only(logger: logging.Logger, log_file: str) -> None:
        consoles = [
            handler
            for handler in logger.handlers
            if type(handler) is logging.StreamHandler
            and not any(isinstance(f, _ConsoleSkipsDumps) for f in handler.filters)
        ]
        for handler in consoles:
            handler.addFilter(_ConsoleSkipsDumps())
        if consoles:
            logger.info(f'Versions and options: {log_file}')

    def undo_if_nothing_trained(self) -> List[str]:
        """Remove the folders this run made, and rename back what they replaced, unless an iteration was trained.

        Returns:
            Problems met while undoing (empty when all went well).
        """
        if self.iterations_done:
            return []
        problems = []
        for folder in reversed(self.made):
            _close_log_files_under(folder.path)
            try:
                shutil.rmtree(folder.path)
                if folder.archived:
                    os.rename(folder.archived, folder.path)
            except OSError as error:
                problems.append(f'could not restore {folder.path}: {error}')
                continue
            for parent in folder.new_parents:
                with contextlib.suppress(OSError):  # not empty: something else wrote there meanwhile
                    os.rmdir(parent)
        self.made.clear()
        return problems

    def describe(self, error: BaseException) -> str:
        """The one-line message for an error raised inside ``train_pipeline``."""
        reason = one_line(error)
        if not self.iterations_done:
            return f'{self.step}: {reason} (nothing was trained; set {TRACEBACK_ENV}=1 for the traceback)'
        kept = f' in {self.experiments_root}' if self.experiments_root else ''
        return (
            f'training stopped {self.step}: {reason} (what was saved is kept{kept}; once fixed, continue '
            f'from the last saved state with --auto_resume; set {TRACEBACK_ENV}=1 for the traceback)'
        )


def run_training(
    root_path: str, argv: Optional[Sequence[str]] = None, warn: Optional[Callable[[str], None]] = None
) -> None:
    """Check the options, then train with BasicSR's ``train_pipeline``, as ``python realesrgan/train.py`` does.

    Args:
        root_path: Folder under which ``experiments/`` and ``tb_logger/`` are written.
        argv: Command-line arguments (``-opt``, ``--auto_resume``, ...); ``sys.argv[1:]`` when None.
        warn: Called with each warning line (unknown option keys), on the first process only.

    Raises:
        TrainingError: The run could not start (bad options or arguments, data or setup failing before the first
            iteration: ``exit_status`` 2) or stopped during training (``exit_status`` 1). The message is one line;
            the original exception is the ``__cause__``.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = pre_parse(argv)
    help_asked = '-h' in argv or '--help' in argv
    opt, warnings = None, []
    if args is not None and not help_asked:
        try:
            opt = load_options_file(args.opt)
            forced = apply_force_yml(opt, args.force_yml, args.opt)
            warnings = check_training_options(opt, args.opt, forced)
        except OptionsError as error:
            raise TrainingError(str(error), EXIT_NOT_STARTED) from error
    try:
        launch = launcher_settings(argv, opt, args.launcher if args and not help_asked else 'none')
    except ValueError as error:
        raise TrainingError(str(error), EXIT_NOT_STARTED) from error
    argv = launch.argv
    if warn and os.environ.get('RANK', '0') == '0':
        for warning in [*warnings, *launch.warnings]:
            warn(warning)

    watch = _RunWatch(debug=bool(args and args.debug), backend=launch.backend)
    saved_argv = sys.argv
    sys.argv = [saved_argv[0] if saved_argv else 'train.py', *argv]  # train_pipeline parses sys.argv itself
    try:
        with watch.watching():
            basicsr_train.train_pipeline(root_path)
    except ExperimentBusyError as error:
        raise TrainingError(str(error), EXIT_NOT_STARTED) from error
    except BaseException as error:
        problems = watch.undo_if_nothing_trained()
        if not isinstance(error, Exception):  # KeyboardInterrupt, SystemExit (argparse): as they are
            raise
        message = '; '.join([watch.describe(error), *problems])
        raise TrainingError(message, EXIT_STOPPED if watch.iterations_done else EXIT_NOT_STARTED) from error
    finally:
        sys.argv = saved_argv
        watch.release_lock()
