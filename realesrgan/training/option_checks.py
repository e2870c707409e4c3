"""Checks of a training options file before BasicSR runs it: one clear line per problem instead of a traceback.

BasicSR reads its options dict lazily, so a wrong options file surfaces as a ``KeyError`` or ``TypeError`` deep
inside the training pipeline, sometimes after the experiment folder was made, or not at all: a misspelt optional
key (``kernel_prb``) silently gives way to its default. :func:`load_options_file` reads the file as BasicSR does,
:func:`apply_force_yml` applies ``--force_yml`` entries as BasicSR does, and :func:`check_training_options` checks
what BasicSR and this package need (sections, whole numbers, registered type names, network arguments). Each
problem raises :class:`OptionsError` with one line: where, what is wrong, what to do.

The sets of valid keys live here and only here (:data:`DATASET_OPTION_KEYS`, :data:`MODEL_OPTION_KEYS`). They are
what this package's datasets, degradation pipeline and models read, plus the generic keys BasicSR reads around
them; ``tests/test_option_checks.py`` records the keys the classes actually read and checks that each is listed.
Unknown keys are warnings, not errors: custom code may read keys of its own.
"""

import inspect
import math
import os
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Set

import yaml
from basicsr.models.srgan_model import SRGANModel
from basicsr.utils.options import _postprocess_yml_value, ordered_yaml
from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, MODEL_REGISTRY

from realesrgan.data.realesrgan_dataset import DEFAULT_OPTIONS as REALESRGAN_DATASET_DEFAULTS
from realesrgan.models.degradation_pipeline import FIRST_ORDER_DEFAULTS
from realesrgan.models.validation_watch import WATCH_KEYS, ValidationWatch
from realesrgan.suggest import closest_names, did_you_mean
from realesrgan.training.config_checks import check_tensorboard_logger, check_validation_metrics
from realesrgan.training.startup import options_path_problem
from realesrgan.zoo.families import FAMILIES

__all__ = [
    'OptionsError',
    'DATASET_OPTION_KEYS',
    'MODEL_OPTION_KEYS',
    'load_options_file',
    'apply_force_yml',
    'check_training_options',
    'unknown_key_warnings',
]

# ------------------------------------------------------------------------------------------------ valid keys
# keys BasicSR reads (or sets) in every dataset section: the data loader's and the sampler's
_LOADER_KEYS = frozenset(
    {
        'name',
        'type',
        'phase',
        'scale',
        'io_backend',
        'batch_size_per_gpu',
        'num_worker_per_gpu',
        'use_shuffle',
        'dataset_enlarge_ratio',
        'prefetch_mode',
        'pin_memory',
        'persistent_workers',
        'num_prefetch_queue',
    }
)
DATASET_OPTION_KEYS: Dict[str, FrozenSet[str]] = {
    # gt_size is not read by RealESRGANDataset (the model crops after the degradation) but the original configs
    # carry it in this section, so it is not reported
    'RealESRGANDataset': _LOADER_KEYS | set(REALESRGAN_DATASET_DEFAULTS) | {'dataroot_gt', 'meta_info', 'gt_size'},
    'RealESRGANPairedDataset': _LOADER_KEYS
    | {'dataroot_gt', 'dataroot_lq', 'meta_info', 'filename_tmpl', 'gt_size', 'use_hflip', 'use_rot', 'mean', 'std'},
}
"""Valid keys of a ``datasets.<phase>`` section, per dataset type of this package."""

# top level: BasicSR's keys, then those parse_options / train_pipeline add themselves
_BASICSR_TOP_KEYS = frozenset(
    {
        'name',
        'model_type',
        'scale',
        'num_gpu',
        'manual_seed',
        'datasets',
        'network_g',
        'network_d',
        'path',
        'train',
        'val',
        'logger',
        'dist_params',
        'find_unused_parameters',
        'dist',
        'rank',
        'world_size',
        'auto_resume',
        'is_train',
        'root_path',
    }
)
# the second-order degradation (realesrgan/models/degradation_pipeline.py) and the training-pair queue
_DEGRADATION_KEYS = frozenset(
    {f'{key}{order}' for key in FIRST_ORDER_DEFAULTS for order in ('', '2')} | {'second_blur_prob', 'gt_size', 'scale'}
)
_SYNTHETIC_KEYS = _DEGRADATION_KEYS | {'high_order_degradation', 'queue_size'}
_SR_TRAIN_KEYS = frozenset(
    {'ema_decay', 'optim_g', 'scheduler', 'total_iter', 'warmup_iter', 'pixel_opt', 'perceptual_opt'}
)
# RealESRGANModel's own optimize_parameters uses no ldl_opt, so that SRGANModel key is left out
_GAN_TRAIN_KEYS = _SR_TRAIN_KEYS | {'optim_d', 'gan_opt', 'net_d_iters', 'net_d_init_iters'}
_VAL_KEYS = frozenset({'val_freq', 'save_img', 'metrics', 'suffix', 'pbar'}) | WATCH_KEYS
_LOGGER_KEYS = frozenset({'print_freq', 'save_checkpoint_freq', 'use_tb_logger', 'wandb'})
_PATH_KEYS = frozenset(
    {
        'pretrain_network_g',
        'param_key_g',
        'strict_load_g',
        'pretrain_network_d',
        'param_key_d',
        'strict_load_d',
        'resume_state',
        'ignore_resume_networks',
        'experiments_root',
        'models',
        'training_states',
        'log',
        'visualization',
        'results_root',
    }
)
MODEL_OPTION_KEYS: Dict[str, Dict[str, FrozenSet[str]]] = {
    'RealESRNetModel': {
        '': _BASICSR_TOP_KEYS | _SYNTHETIC_KEYS | {'gt_usm'},
        'train': _SR_TRAIN_KEYS,
        'val': _VAL_KEYS,
        'logger': _LOGGER_KEYS,
        'path': _PATH_KEYS,
    },
    'RealESRGANModel': {
        '': _BASICSR_TOP_KEYS | _SYNTHETIC_KEYS | {'l1_gt_usm', 'percep_gt_usm', 'gan_gt_usm'},
        'train': _GAN_TRAIN_KEYS,
        'val': _VAL_KEYS,
        'logger': _LOGGER_KEYS,
        'path': _PATH_KEYS,
    },
}
"""Valid keys per section (``''``: the top level) of the options of this package's models."""

# where components come from, for the messages about unknown type names
_ARCH_HINT = 'architectures come from basicsr/archs and realesrgan/archs/*_arch.py; add yours there'
_DATASET_HINT = 'datasets come from basicsr/data and realesrgan/data/*_dataset.py; add yours there'
_MODEL_HINT = 'models come from basicsr/models and realesrgan/models/*_model.py; add yours there'


class OptionsError(ValueError):
    """A training options file, or a command-line override of it, that cannot work. The message is one line."""


# ------------------------------------------------------------------------------------------------ helpers
def _join(path: str, key: str) -> str:
    """Dotted option path: ``_join('datasets', 'train') == 'datasets.train'``."""
    return f'{path}.{key}' if path else key


def _registered_names(registry: Any) -> List[str]:
    """Names a BasicSR registry accepts, without the ``_basicsr`` copies (``get`` finds those by the plain name)."""
    return sorted({name[: -len('_basicsr')] if name.endswith('_basicsr') else name for name, _ in registry})


def _registered(registry: Any, name: str) -> Optional[Any]:
    """The object registered as ``name`` (or as BasicSR's ``name_basicsr``), or None; prints nothing."""
    objects = dict(iter(registry))
    return objects.get(name, objects.get(f'{name}_basicsr'))


# ------------------------------------------------------------------------------------------------ loading
def load_options_file(path: Optional[str]) -> Dict[str, Any]:
    """Read a training options file as BasicSR does (its YAML loader keeps the key order).

    Args:
        path: The ``-opt`` argument.

    Returns:
        The options dict.

    Raises:
        OptionsError: No path, no such file, unreadable, not YAML, empty, or not a mapping.
    """
    problem = options_path_problem(path)
    if problem:
        raise OptionsError(problem)
    try:
        with open(path, encoding='utf-8') as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as error:
        raise OptionsError(f'cannot read options file "{path}": {error}') from error
    try:
        opt = yaml.load(text, Loader=ordered_yaml()[0])
    except yaml.MarkedYAMLError as error:
        mark, start = error.problem_mark, error.context_mark
        where = f'line {mark.line + 1}, column {mark.column + 1}' if mark is not None else 'somewhere'
        context = error.context
        if context and start is not None and (mark is None or start.line != mark.line):
            context = f'{context} started on line {start.line + 1}'
        problem = ', '.join(part for part in (context, error.problem) if part)
        raise OptionsError(
            f'{path} {where}: YAML syntax error ({problem}); check the indentation and the "key: value" '
            'form of that line and the one above'
        ) from error
    except yaml.YAMLError as error:
        raise OptionsError(f'{path} is not valid YAML: {" ".join(str(error).split())}') from error
    if opt is None:
        raise OptionsError(f'options file "{path}" is empty; start from a copy of one of options/*.yml')
    if not isinstance(opt, Mapping):
        raise OptionsError(
            f'options file "{path}" holds a {type(opt).__name__} at its top level, not "key: value" '
            'options; start from a copy of one of options/*.yml'
        )
    return opt


def apply_force_yml(opt: Dict[str, Any], entries: Optional[Sequence[str]], source: str = '--force_yml') -> Set[str]:
    """Apply ``--force_yml section:key=value`` entries to ``opt`` in place, converting values as BasicSR does.

    Args:
        opt: The options dict.
        entries: The ``--force_yml`` arguments, or None.
        source: Name of the options file, for messages.

    Returns:
        The dotted paths of the options set (``{'train.total_iter'}``).

    Raises:
        OptionsError: An entry without exactly one ``=``, with a section that does not exist, or with a value
            BasicSR cannot convert.
    """
    forced = set()
    for entry in entries or ():
        if entry.count('=') != 1:
            raise OptionsError(
                f'--force_yml "{entry}" needs exactly one "=": write section:key=value, e.g. '
                '--force_yml train:total_iter=60'
            )
        keys_text, value_text = (part.strip() for part in entry.split('='))
        keys = [key.strip() for key in keys_text.split(':')]
        if not all(keys):
            raise OptionsError(
                f'--force_yml "{entry}" has an empty key: write section:key=value, e.g. --force_yml train:total_iter=60'
            )
        section, path = opt, ''
        for key in keys[:-1]:
            path = _join(path, key)
            if not isinstance(section, Mapping) or key not in section:
                siblings = section if isinstance(section, Mapping) else ()
                raise OptionsError(
                    f'--force_yml "{entry}": {source} has no section {path}{did_you_mean(key, siblings)}'
                )
            section = section[key]
        if not isinstance(section, Mapping):
            raise OptionsError(f'--force_yml "{entry}": {path} in {source} is a value, not a section of options')
        try:
            value = _postprocess_yml_value(value_text)
        except Exception as error:  # BasicSR evaluates list values; any failure means a malformed value
            raise OptionsError(
                f'--force_yml "{entry}": cannot read the value "{value_text}" ({error}); lists are written [1, 2]'
            ) from error
        section[keys[-1]] = value
        forced.add(_join(path, keys[-1]))
    return forced


# ------------------------------------------------------------------------------------------------ checking
class _Checker:
    """Checks one options dict; every failed check raises :class:`OptionsError` naming file (or flag) and key."""

    def __init__(self, opt: Mapping[str, Any], source: str, forced: Set[str]) -> None:
        self.opt = opt
        self.source = source
        self.forced = forced

    def fail(self, path: str, problem: str) -> None:
        """Raise the error for option ``path``."""
        where = '--force_yml' if path in self.forced else self.source
        raise OptionsError(f'{where}: {path} {problem}')

    def section(self, path: str, required: bool = True) -> Optional[Mapping[str, Any]]:
        """The mapping at dotted ``path`` (None when optional and absent)."""
        parent_path, _, key = path.rpartition('.')
        parent = self.opt if not parent_path else self.section(parent_path)
        if key not in parent:
            if not required:
                return None
            self.fail(path, f'is missing{self._misspelt(parent, key)}; add it (see options/*.yml for an example)')
        value = parent[key]
        if not isinstance(value, Mapping):
            self.fail(path, f'must be a section of "key: value" options, not {value!r}')
        return value

    @staticmethod
    def _misspelt(section: Mapping[str, Any], key: str) -> str:
        """`` (is "X" a misspelling of it?)`` when the section holds a key close to the missing ``key``."""
        close = [name for name in closest_names(key, [str(name) for name in section], cutoff=0.8) if name != key]
        return f' (is "{close[0]}" a misspelling of it?)' if close else ''

    def value(self, path: str, required: bool = True) -> Any:
        """The value at dotted ``path``; None when optional and absent."""
        parent_path, _, key = path.rpartition('.')
        parent = self.opt if not parent_path else self.section(parent_path)
        if key not in parent:
            if required:
                self.fail(path, f'is missing{self._misspelt(parent, key)}; add it (see options/*.yml for an example)')
            return None
        return parent[key]

    def whole_number(self, path: str, minimum: int, required: bool = True, example: int = 100) -> None:
        """A whole number (``400000`` or ``!!float 4e5``) of at least ``minimum``."""
        value = self.value(path, required)
        if value is None and not required:
            return
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value != int(value)
        ):
            self.fail(
                path, f'is {value!r}, not a whole number; write digits only, e.g. {example}{self._yaml_hint(value)}'
            )
        if value < minimum:
            self.fail(path, f'is {value}; it must be at least {minimum}')

    def number(
        self, path: str, low: float, high: Optional[float] = None, include_low: bool = False, required: bool = True
    ) -> None:
        """A finite number above ``low`` (or equal to it with ``include_low``) and below ``high`` when given."""
        value = self.value(path, required)
        if value is None and not required:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(path, f'is {value!r}, not a number{self._yaml_hint(value)}')
        if value < low or (value == low and not include_low) or (high is not None and value >= high):
            bounds = f'{"at least" if include_low else "greater than"} {low}'
            self.fail(path, f'is {value}; it must be {bounds}{f" and less than {high}" if high is not None else ""}')

    @staticmethod
    def _yaml_hint(value: Any) -> str:
        """Explain YAML's reading of ``1e5`` (text: YAML 1.1 floats need a dot) when that is the mistake."""
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                return ''
            return f' (YAML reads {value} as text: write !!float {value}, or the number with a dot, e.g. 1.0e5)'
        return ''

    def registered(self, path: str, registry: Any, what: str, where: str) -> Any:
        """The class (or function) registered under the name at ``path``, else a failure listing close names.

        Args:
            path: Dotted path of the name.
            registry: The BasicSR registry to look in.
            what: What the name names, for the message (``'architecture'``).
            where: Where such components come from (and where custom ones go), for the message.
        """
        name = self.value(path)
        if not isinstance(name, str):
            self.fail(path, f'must be the name of {what}, not {name!r}')
        found = _registered(registry, name)
        if found is None:
            close = closest_names(name, _registered_names(registry))
            hint = f'did you mean {" or ".join(close)}?' if close else 'none has a similar name.'
            self.fail(path, f'"{name}" is not a registered {what}: {hint} ({where})')
        return found

    def network(self, path: str) -> None:
        """Type, constructor arguments and (for the generator) scale of a network section."""
        net_opt = self.section(path)
        arch = self.registered(_join(path, 'type'), ARCH_REGISTRY, 'architecture', _ARCH_HINT)
        kwargs = {key: value for key, value in net_opt.items() if key != 'type'}
        try:
            signature = inspect.signature(arch)
        except (TypeError, ValueError):  # no introspectable signature: leave it to the constructor
            return
        takes_any = any(param.kind == param.VAR_KEYWORD for param in signature.parameters.values())
        names = [
            name
            for name, param in signature.parameters.items()
            if param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)
        ]
        if not takes_any:
            for key in kwargs:
                if key not in names:
                    self.fail(
                        _join(path, key),
                        f'is not an argument of {net_opt["type"]}{did_you_mean(key, names)}; '
                        f'its arguments are {", ".join(names)}',
                    )
        try:
            bound = signature.bind(**kwargs)
        except TypeError as error:
            self.fail(path, f'cannot build {net_opt["type"]}: {error}; its arguments are {", ".join(names)}')
        family = FAMILIES.get(net_opt['type'])
        if path == 'network_g' and family and 'scale' in self.opt:
            scale_key = family.scale_arg
            bound.apply_defaults()
            net_scale = bound.arguments.get(scale_key)
            if net_scale != self.opt['scale']:
                given = 'given' if scale_key in kwargs else f'the {net_opt["type"]} default'
                self.fail(
                    _join(path, scale_key),
                    f'is {net_scale} ({given}) but the top-level scale is '
                    f'{self.opt["scale"]}: set {scale_key}: {self.opt["scale"]} under {path}',
                )

    def losses(self) -> None:
        """Registered types of the loss sections of ``train`` (``pixel_opt``, ``perceptual_opt``, ...)."""
        for key, loss_opt in self.section('train').items():
            if str(key).endswith('_opt') and isinstance(loss_opt, Mapping) and 'type' in loss_opt:
                self.registered(f'train.{key}.type', LOSS_REGISTRY, 'loss', 'losses are those of basicsr/losses')

    def pretrained_files(self) -> None:
        """``path.pretrain_network_*`` files, when set, exist (BasicSR would fail only when building the model)."""
        for key, value in self.section('path').items():
            if (
                str(key).startswith('pretrain_network')
                and value is not None
                and not os.path.isfile(os.path.expanduser(str(value)))
            ):
                self.fail(
                    f'path.{key}',
                    f'"{value}" does not exist (relative paths start from {os.getcwd()}): put the '
                    'weights there (README: Training) or set it to ~ to start from random weights',
                )

    def datasets(self) -> None:
        """The dataset sections: phases BasicSR knows, registered types, data-loader numbers."""
        datasets = self.section('datasets')
        if 'train' not in datasets:
            self.fail('datasets.train', f'is missing{self._misspelt(datasets, "train")}; the training data go there')
        for phase in datasets:
            path = f'datasets.{phase}'
            if phase != 'train' and str(phase).split('_')[0] != 'val':
                self.fail(
                    path,
                    f'is not a dataset phase BasicSR knows: name it train, val or val_<n>'
                    f'{did_you_mean(str(phase), ["train", "val"])}',
                )
            self.section(path)
            self.registered(f'{path}.type', DATASET_REGISTRY, 'dataset', _DATASET_HINT)
        self.whole_number('datasets.train.batch_size_per_gpu', 1)
        self.whole_number('datasets.train.num_worker_per_gpu', 0)
        self.number('datasets.train.dataset_enlarge_ratio', 0, required=False)

    def run(self) -> None:
        """Every check, in the order a reader of the file meets the sections."""
        name = self.value('name')
        if not isinstance(name, str) or not name.strip() or '/' in name or os.sep in name:
            self.fail('name', f'is {name!r}; it names the folder experiments/<name>: use a non-empty name without "/"')
        model = self.registered('model_type', MODEL_REGISTRY, 'model', _MODEL_HINT)
        num_gpu = self.value('num_gpu')
        if num_gpu != 'auto':
            self.whole_number('num_gpu', 0)
        if self.value('manual_seed', required=False) is not None:
            self.whole_number('manual_seed', 0)
        if 'scale' in self.opt or self.opt.get('model_type') in MODEL_OPTION_KEYS:
            self.whole_number('scale', 1)
        for key in ('gt_size', 'queue_size'):
            self.whole_number(key, 1, required=False)
        self.datasets()
        self.network('network_g')
        uses_discriminator = isinstance(model, type) and issubclass(model, SRGANModel)
        if uses_discriminator or 'network_d' in self.opt:
            self.network('network_d')
        self.section('path')
        self.pretrained_files()
        self.whole_number('train.total_iter', 1, example=400000)
        self.whole_number('train.warmup_iter', -1, required=False)
        self.number('train.ema_decay', 0, 1, include_low=True, required=False)
        for optimizer in ('optim_g', 'optim_d') if uses_discriminator else ('optim_g',):
            self.section(f'train.{optimizer}')
            self.number(f'train.{optimizer}.lr', 0)
        self.section('train.scheduler')
        self.value('train.scheduler.type')
        self.losses()
        if self.section('val', required=False) is not None:
            self.whole_number('val.val_freq', 1)
            self.value('val.save_img')
            check_validation_metrics(self.opt, self.fail)
            try:
                ValidationWatch.from_options(self.opt['val'], models_dir=None)
            except ValueError as error:  # the message names the option
                path = str(error).split(' ', 1)[0]
                self.fail(path, str(error).split(' ', 1)[1])
        self.whole_number('logger.print_freq', 1)
        self.whole_number('logger.save_checkpoint_freq', 1)
        check_tensorboard_logger(self.opt, self.fail)


def unknown_key_warnings(opt: Mapping[str, Any], source: str = 'options') -> List[str]:
    """One line per key that this package's model or datasets would ignore, with the closest valid key.

    Only the sections read by this package's models (:data:`MODEL_OPTION_KEYS`) and datasets
    (:data:`DATASET_OPTION_KEYS`) are checked: other models and datasets may read keys not listed here.

    Args:
        opt: The options dict.
        source: Name of the options file, for the messages.

    Returns:
        The warnings, e.g. ``'x.yml: unknown key datasets.train.kernel_prb (did you mean kernel_prob?); ...'``.
    """
    sections: List[tuple] = []  # (dotted path, section dict, valid keys, reader)
    model_type = opt.get('model_type')
    for section, keys in MODEL_OPTION_KEYS.get(model_type, {}).items():
        value = opt.get(section) if section else opt
        if isinstance(value, Mapping):
            sections.append((section, value, keys, model_type))
    datasets = opt.get('datasets')
    if isinstance(datasets, Mapping):
        for phase, dataset_opt in datasets.items():
            if isinstance(dataset_opt, Mapping) and dataset_opt.get('type') in DATASET_OPTION_KEYS:
                dataset_type = dataset_opt['type']
                sections.append((f'datasets.{phase}', dataset_opt, DATASET_OPTION_KEYS[dataset_type], dataset_type))
    warnings = []
    for path, section, keys, reader in sections:
        for key in section:
            if key not in keys:
                warnings.append(
                    f'{source}: unknown key {_join(path, str(key))}{did_you_mean(str(key), keys)}; {reader} ignores it'
                )
    return warnings


def check_training_options(
    opt: Mapping[str, Any], source: str = 'options', forced: Optional[Set[str]] = None
) -> List[str]:
    """Check a training options dict (after ``--force_yml``) before BasicSR's ``train_pipeline`` reads it.

    Args:
        opt: The options dict, as read by :func:`load_options_file`.
        source: Name of the options file, for the messages.
        forced: Dotted paths set by ``--force_yml`` (their errors name the flag instead of the file).

    Returns:
        Warnings about unknown keys (:func:`unknown_key_warnings`); empty when there are none.

    Raises:
        OptionsError: The first problem found, as one line.
    """
    _Checker(opt, source, forced or set()).run()
    return unknown_key_warnings(opt, source)
