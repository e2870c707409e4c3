"""Start-up time: ``import realesrgan`` and the command lines' quick answers, each the median of fresh interpreters.

    python benchmarks/startup_time.py                       # this checkout
    python benchmarks/startup_time.py --baseline 24f38a5    # and a baseline commit, side by side in the same run

Each command runs ``--repeats`` times (default 5) in a new interpreter after one untimed warm-up run (which also
writes the bytecode caches), alternating between the checkouts round by round so that load on the machine falls on
both alike; the wall time of the whole process is kept and the median printed. The baseline is checked out into a
temporary git worktree (removed afterwards) and each command runs from its root, so that it imports that
checkout's package whatever is installed in the environment (checked before timing). Every command must end with
its expected exit status (0 for ``--help``, 2 for a bad setting and for an empty input folder). The check: ``--help``
of both command lines under 1 s (median).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional

import cv2
import numpy as np
from machine import describe_machine, header_lines
from report import format_table

REPO_ROOT = Path(__file__).resolve().parent.parent
HELP_LIMIT_S = 1.0
IMAGE_CLI = ['inference_realesrgan.py']
SMALL_MODEL = 'realesr-animevideov3'


class Command(NamedTuple):
    """One timed command: run from a checkout's root, with the exit status it must end with."""

    label: str
    argv: List[str]
    status: int


def commands(scratch: Path) -> List[Command]:
    """The commands timed in each checkout (``scratch`` holds an empty input folder)."""
    empty = scratch / 'empty'
    empty.mkdir(exist_ok=True)
    python = sys.executable
    found = [
        Command('python -c "import torch" (floor of anything that upscales)', [python, '-c', 'import torch'], 0),
        Command('python -c "import realesrgan"', [python, '-c', 'import realesrgan'], 0),
        Command('inference_realesrgan.py --help', [python, *IMAGE_CLI, '--help'], 0),
        Command('inference_realesrgan.py --tile -3 (bad setting)', [python, *IMAGE_CLI, '--tile', '-3'], 2),
        Command(
            'inference_realesrgan.py -i EMPTY_FOLDER (no images)',
            [python, *IMAGE_CLI, '-i', str(empty), '-o', str(scratch / 'out')],
            2,
        ),
        Command('inference_realesrgan_video.py --help', [python, 'inference_realesrgan_video.py', '--help'], 0),
    ]
    weights = REPO_ROOT / 'weights' / f'{SMALL_MODEL}.pth'
    if weights.is_file():  # a whole run, to show what the quick start costs once there is work
        image = scratch / 'small.png'
        cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
        upscale = [*IMAGE_CLI, '-n', SMALL_MODEL, '-i', str(image), '-o', str(scratch / 'upscaled')]
        found.append(
            Command(f'upscale one 64 px image ({SMALL_MODEL})', [python, *upscale, '--model_path', str(weights)], 0)
        )
    return found


def _environment() -> Dict[str, str]:
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    return env


def _imported_package(checkout: Path) -> Path:
    result = subprocess.run(
        [sys.executable, '-c', 'import realesrgan; print(realesrgan.__file__)'],
        cwd=checkout,
        env=_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(result.stdout.strip()).resolve().parent.parent


def time_command(command: Command, checkout: Path) -> float:
    """Seconds the command took in ``checkout``; raises when it ends with another exit status."""
    start = time.perf_counter()
    result = subprocess.run(command.argv, cwd=checkout, env=_environment(), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != command.status:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ['']
        raise RuntimeError(f'{command.label} in {checkout} exited with {result.returncode}: {tail[0]}')
    return elapsed


def measure(checkouts: Dict[str, Path], repeats: int, scratch: Path) -> Dict[str, Dict[str, List[float]]]:
    """``{checkout name: {command label: [seconds, ...]}}``, rounds alternating between the checkouts."""
    times: Dict[str, Dict[str, List[float]]] = {name: {} for name in checkouts}
    for command in commands(scratch):
        for checkout in checkouts.values():
            time_command(command, checkout)  # warm-up: bytecode caches, file caches
        for _ in range(repeats):
            for name, checkout in checkouts.items():
                times[name].setdefault(command.label, []).append(time_command(command, checkout))
    return times


def _worktree(ref: str, folder: Path) -> Path:
    subprocess.run(
        ['git', 'worktree', 'add', '--detach', str(folder), ref], cwd=REPO_ROOT, check=True, capture_output=True
    )
    return folder


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark; returns 0 when the checks pass, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--baseline', help='git commit or branch to time side by side (in a temporary worktree)')
    parser.add_argument('--repeats', type=int, default=5, help='timed runs per command and checkout (default 5)')
    parser.add_argument('--json', type=Path, help='also write the times to this file')
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix='realesrgan-startup-'))
    checkouts = {'this checkout': REPO_ROOT}
    try:
        if args.baseline:
            checkouts[f'baseline {args.baseline}'] = _worktree(args.baseline, scratch / 'baseline')
        for name, checkout in checkouts.items():
            if _imported_package(checkout) != checkout.resolve():
                print(f'error: {name} does not import its own realesrgan package', file=sys.stderr)
                return 1
        times = measure(checkouts, args.repeats, scratch)
    finally:
        if args.baseline and (scratch / 'baseline').exists():
            subprocess.run(['git', 'worktree', 'remove', '--force', str(scratch / 'baseline')], cwd=REPO_ROOT)
        shutil.rmtree(scratch, ignore_errors=True)

    machine = describe_machine()
    for line in header_lines(machine):
        print(line)
    print(f'Python {sys.version.split()[0]}; median of {args.repeats} fresh interpreters, wall time, in seconds\n')
    names = list(checkouts)
    medians = {name: {label: statistics.median(values) for label, values in times[name].items()} for name in names}
    headers = ['command', *names] + (['speed-up'] if len(names) == 2 else [])
    rows = []
    for label in medians[names[0]]:
        row = [label] + [f'{medians[name][label]:.2f}' for name in names]
        if len(names) == 2:
            row.append(f'{medians[names[1]][label] / medians[names[0]][label]:.1f}x')
        rows.append(row)
    print(format_table(headers, rows))

    ok = True
    print(f'\nchecks (CPU kind: {machine["cpu_kind"]}):')
    for label in ('inference_realesrgan.py --help', 'inference_realesrgan_video.py --help'):
        seconds = medians[names[0]][label]
        passed = seconds < HELP_LIMIT_S
        ok &= passed
        print(f'  {"PASS" if passed else "FAIL"}: {label} {seconds:.2f} s < {HELP_LIMIT_S:.0f} s')
    if args.json:
        args.json.write_text(json.dumps({'machine': machine, 'repeats': args.repeats, 'times': times}, indent=2))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
