"""Start-up time: ``import realesrgan`` and the command lines' quick answers, each the median of fresh interpreters.

    python benchmarks/startup_time.py                       # this checkout
    python benchmarks/startup_time.py --baseline 24f38a5    # and a baseline commit, side by side in the same run

Each command runs ``--repeats`` times (default 5) in a new interpreter after one untimed warm-up run (which also
writes the bytecode caches), alternating between the checkouts round by round so that load on the machine falls on
both alike; the wall time of the whole process is kept and the median printed. The baseline is checked out into a
temporary git worktree (removed afterwards) and each command runs from its root, so that it imports that
checkout's package whatever is installed in the environment (checked before timing). Every command must end with
its expected exit status (0 for ``--help``, ``--version`` and nothing left to do, 2 for an argument error) and, for
the error paths, name what was wrong; a command that does not is reported, not timed as a success.

The checks (median under 1 s, in this checkout): ``--help`` and ``--version`` of both command lines, and every
argument error and "nothing to do" answer, which must come before torch is imported: a bad setting, an empty input
folder, an unknown model name (``-n realesr-animevideo3``, answered with the name meant), a missing ``-opt`` file
for ``realesrgan/train.py``, the video command given an image, and ``--skip_existing`` with every output already
there.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import cv2
from benchlib.machine import describe_machine, header_lines
from benchlib.text_table import format_table
from benchlib.workers import REPO_ROOT

QUICK_LIMIT_S = 1.0
IMAGE_CLI = 'inference_realesrgan.py'
VIDEO_CLI = 'inference_realesrgan_video.py'
TRAIN_CLI = 'realesrgan/train.py'
SMALL_MODEL = 'realesr-animevideov3'
VERSION = r'\d+\.\d+'


class Command(NamedTuple):
    """One timed command: run from a checkout's root, with the exit status it must end with.

    Attributes:
        label: Its row in the table.
        argv: The command.
        status: The exit status it must end with.
        says: A regular expression its output must match (the error names what was wrong), if any.
        quick: Whether it is checked to answer in under :data:`QUICK_LIMIT_S` (median).
    """

    label: str
    argv: List[str]
    status: int
    says: Optional[str] = None
    quick: bool = False


def commands(scratch: Path) -> List[Command]:
    """The commands timed in each checkout (their inputs and outputs are made in ``scratch``)."""
    empty, done, out = scratch / 'empty', scratch / 'done', scratch / 'out'
    for folder in (empty, done, out):
        folder.mkdir(exist_ok=True)
    photo = cv2.imread(str(REPO_ROOT / 'inputs' / 'astronaut.png'))[:64, :64]
    image = scratch / 'small.png'
    cv2.imwrite(str(image), photo)
    cv2.imwrite(str(done / 'small.png'), photo)
    cv2.imwrite(str(out / 'small_out.png'), photo)  # the output of done/small.png: nothing left to do
    python = sys.executable
    image_cli, video_cli = [python, IMAGE_CLI], [python, VIDEO_CLI]
    found = [
        Command('python -c "import torch" (floor of anything that upscales)', [python, '-c', 'import torch'], 0),
        Command('python -c "import realesrgan"', [python, '-c', 'import realesrgan'], 0),
        Command(f'{IMAGE_CLI} --help', [*image_cli, '--help'], 0, quick=True),
        Command(f'{VIDEO_CLI} --help', [*video_cli, '--help'], 0, quick=True),
        Command(f'{IMAGE_CLI} --version', [*image_cli, '--version'], 0, VERSION, quick=True),
        Command(f'{VIDEO_CLI} --version', [*video_cli, '--version'], 0, VERSION, quick=True),
        Command(f'{IMAGE_CLI} --tile -3 (bad setting)', [*image_cli, '--tile', '-3'], 2, '--tile', quick=True),
        Command(
            f'{IMAGE_CLI} -i EMPTY_FOLDER (no images)', [*image_cli, '-i', str(empty), '-o', str(out)], 2, quick=True
        ),
        Command(
            f'{IMAGE_CLI} -n realesr-animevideo3 (unknown model)',
            [*image_cli, '-n', 'realesr-animevideo3', '-i', str(image), '-o', str(out)],
            2,
            'did you mean.*realesr-animevideov3',
            quick=True,
        ),
        Command(
            f'{TRAIN_CLI} -opt MISSING.yml',
            [python, TRAIN_CLI, '-opt', str(scratch / 'missing.yml')],
            2,
            'missing.yml',
            quick=True,
        ),
        Command(
            f'{VIDEO_CLI} -i IMAGE.png (not a video)',
            [*video_cli, '-i', str(image), '-o', str(out)],
            2,
            'not a video',
            quick=True,
        ),
        Command(
            f'{IMAGE_CLI} --skip_existing (nothing left to do)',
            [*image_cli, '-i', str(done), '-o', str(out), '--skip_existing'],
            0,
            quick=True,
        ),
    ]
    weights = REPO_ROOT / 'weights' / f'{SMALL_MODEL}.pth'
    if weights.is_file():  # a whole run, to show what the quick start costs once there is work
        upscale = [*image_cli, '-n', SMALL_MODEL, '-i', str(image), '-o', str(scratch / 'upscaled')]
        found.append(Command(f'upscale one 64 px image ({SMALL_MODEL})', [*upscale, '--model_path', str(weights)], 0))
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


def time_command(command: Command, checkout: Path) -> Tuple[float, Optional[str]]:
    """Seconds the command took in ``checkout``, and what was wrong with its answer (None when nothing)."""
    start = time.perf_counter()
    result = subprocess.run(command.argv, cwd=checkout, env=_environment(), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    output = f'{result.stdout}\n{result.stderr}'
    tail = (output.strip().splitlines() or [''])[-1]
    if result.returncode != command.status:
        return elapsed, f'exit status {result.returncode}, expected {command.status}: {tail[:160]}'
    if command.says and not re.search(command.says, output, re.IGNORECASE | re.DOTALL):
        return elapsed, f'the output does not match {command.says!r}: {tail[:160]}'
    return elapsed, None


def measure(
    checkouts: Dict[str, Path], repeats: int, planned: Sequence[Command]
) -> Tuple[Dict[str, Dict[str, List[float]]], Dict[str, str]]:
    """Times per checkout and command, rounds alternating between the checkouts, and the problems of this checkout.

    Returns:
        ``{checkout name: {command label: [seconds, ...]}}`` and ``{command label: problem}`` for the commands whose
        answer in the first checkout was wrong (wrong exit status or message).
    """
    times: Dict[str, Dict[str, List[float]]] = {name: {} for name in checkouts}
    problems: Dict[str, str] = {}
    first = next(iter(checkouts))
    for command in planned:
        for checkout in checkouts.values():
            time_command(command, checkout)  # warm-up: bytecode caches, file caches
        for _ in range(repeats):
            for name, checkout in checkouts.items():
                seconds, problem = time_command(command, checkout)
                times[name].setdefault(command.label, []).append(seconds)
                if problem and name == first:
                    problems[command.label] = problem
    return times, problems


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
        planned = commands(scratch)
        times, problems = measure(checkouts, args.repeats, planned)
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
    print(f'\nchecks (CPU kind: {machine["cpu_kind"]}; {names[0]}):')
    for command in (command for command in planned if command.quick):
        seconds = medians[names[0]][command.label]
        problem = problems.get(command.label)
        passed = seconds < QUICK_LIMIT_S and problem is None
        ok &= passed
        detail = f'{seconds:.2f} s (limit {QUICK_LIMIT_S:.0f} s)' + (f'; {problem}' if problem else '')
        print(f'  {"PASS" if passed else "FAIL"}: {command.label}: {detail}')
    for command in (command for command in planned if not command.quick and command.label in problems):
        print(f'  FAIL: {command.label}: {problems[command.label]}')
        ok = False
    if args.json:
        report = {'machine': machine, 'repeats': args.repeats, 'times': times, 'problems': problems}
        args.json.write_text(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
