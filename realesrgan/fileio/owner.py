"""Owner records: which process made a folder or holds a lock, so that what a killed process left can be told apart.

A process killed outright (SIGKILL, a crash of the interpreter) cannot clean up after itself. Whatever it made
records its owner (host, process id and the process's start time) in a small JSON file; the next process that
finds the thing reads the record and removes (or takes over) what belongs to a process that no longer runs. The
start time tells a reused process id apart from the owner itself. Used by the video jobs' work folders, the web
server's temporary folder and the training lock of an experiment folder.
"""

import json
import os
import socket
from typing import Any, Dict, Optional

from realesrgan.fileio.atomic import atomic_output

__all__ = ['OWNER_FILE', 'owner_record', 'write_owner', 'read_owner', 'owner_gone', 'describe_owner', 'start_time']

OWNER_FILE = 'owner'
"""The name of the owner record inside a folder it describes."""


def start_time(pid: int) -> Optional[int]:
    """When a process started, in clock ticks since boot (Linux), or ``None`` where that cannot be read.

    Args:
        pid: The process id.
    """
    try:
        with open(f'/proc/{pid}/stat', encoding='ascii', errors='replace') as file:
            # the command name (field 2) may hold spaces and parentheses: count the fields after its last ')'
            fields = file.read().rsplit(')', 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == 'Z':  # a zombie: ended, only not yet reaped by its parent
        return None
    return int(fields[19])


def owner_record(**extra: Any) -> Dict[str, Any]:
    """The owner record of this process: host, pid, start time, plus ``extra`` fields (e.g. the output's name)."""
    return dict(extra, host=socket.gethostname(), pid=os.getpid(), started=start_time(os.getpid()))


def write_owner(path: str, record: Dict[str, Any]) -> None:
    """Write an owner record to the file ``path`` (replacing what it held; under a temporary name, then renamed)."""
    with atomic_output(path) as partial, open(partial, 'w', encoding='utf-8') as file:
        json.dump(record, file)


def read_owner(path: str) -> Optional[Dict[str, Any]]:
    """The owner record in the file ``path``, or ``None`` when there is none (or an unreadable one)."""
    try:
        with open(path, encoding='utf-8') as file:
            owner = json.load(file)
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) else None


def _still_running(pid: object, started: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return True
    if os.name == 'nt':
        return True  # os.kill(pid, 0) would terminate the process there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists and belongs to another user
    if started is None:
        return True
    return start_time(pid) == started


def owner_gone(owner: Optional[Dict[str, Any]]) -> bool:
    """Whether the owner of a record surely no longer runs: a process of this host whose id is free or now belongs
    to a process started at another time.

    When in doubt (no record, a malformed one, another host, a platform where this cannot be told safely) the
    answer is no, so that what a running process uses is never removed.
    """
    if owner is None or owner.get('host') != socket.gethostname():
        return False
    return not _still_running(owner.get('pid'), owner.get('started'))


def describe_owner(owner: Optional[Dict[str, Any]]) -> str:
    """The owner in words for a message: ``process 1234 on host``, or ``another process`` without a record."""
    if owner is None or not isinstance(owner.get('pid'), int):
        return 'another process'
    host = owner.get('host')
    return f'process {owner["pid"]}' + (f' on {host}' if host and host != socket.gethostname() else '')
