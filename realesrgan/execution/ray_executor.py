"""The Ray executor: a job's :class:`~realesrgan.execution.executor.Work` on a Ray cluster, one actor per worker.

:class:`RayExecutor` is the :class:`~realesrgan.execution.executor.Executor` past one machine. It connects to a
cluster (an existing one by address, or an embedded local instance that lives as long as the job), starts one Ray
actor per worker, each holding one upscaler built from the job's picklable recipe (:class:`UpscalerActor`), and
hands every actor items one or two at a time, as fast as it finishes them. Each item's value or failure comes back
to the job's :class:`~realesrgan.execution.executor.Listener` as with the local pool, so the progress bar, the
summary and the exit codes are those of a local run.

Workers: ``num_per_device`` actors on each GPU of the cluster (``--num_process_per_gpu``; each holds that share of
the GPU), or, on a cluster without GPUs (or ``--device cpu``), ``num_per_device`` actors on each node, which share
the node's CPUs as the local pool's processes share the machine's. CPU actors prefer their node but move elsewhere
when it is gone.

Faults: an actor whose process dies (killed, out of memory, its node lost) is restarted by Ray, which builds its
upscaler again and retries the items it had in hand, at most ``retries`` times; an item whose actor is gone for
good is given to another actor (``retries`` times) before it fails with how its worker ended. An actor of a lost
node that finds no room on the other nodes within a minute is ended, so that its items move to the other actors
instead of waiting for room forever. An ``Exception`` of
the task itself fails that item only, as everywhere. Why actors and not Ray Data: see docs/cluster.md.

Ray is imported only when a job runs with it: ``import realesrgan`` and the command lines' ``--help`` never load it.
"""

import contextlib
import logging
import os
import socket
import time
from collections import Counter, deque
from typing import Any, Deque, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from realesrgan.execution.executor import (
    Executor,
    ItemFailure,
    ItemResult,
    Listener,
    Work,
    WorkerStartError,
    describe_error,
    describe_exception,
)
from realesrgan.execution.local_pool import usable_cpus

__all__ = [
    'EMBEDDED',
    'MISSING_RAY',
    'ActorSlot',
    'RayExecutor',
    'UpscalerActor',
    'connect_ray',
    'plan_actors',
]

logger = logging.getLogger(__name__)

# the address of an embedded local Ray instance (``--ray`` without an address)
EMBEDDED = 'local'
MISSING_RAY = '--ray needs Ray, which cannot be imported ({}): pip install "realesrgan[cluster]" (or "ray[data]")'
# items handed to an actor before its first one is done: the next one waits there, not on the driver
_IN_FLIGHT_PER_ACTOR = 2
_WAIT_SECONDS = 0.5
_REACH_SECONDS = 5.0
# how often the nodes are checked, and how long an actor whose node died may take to come back elsewhere before its
# items go to the other actors (Ray waits for room for it forever: a cluster without spare room would hang)
_NODE_CHECK_SECONDS = 5.0
_RESCHEDULE_SECONDS = 60.0
# Ray 2.x turns 127.0.0.1 into the machine's network address on Linux, and then listens on every interface, unless
# this is 0 when ray is imported; an embedded instance has no other node to talk to, so it stays on the loopback
_LOOPBACK_ONLY = 'RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER'


def connect_ray(address: Optional[str] = EMBEDDED) -> bool:
    """Connect this process to Ray, unless it is connected already.

    Args:
        address: :data:`EMBEDDED` (or None) starts an embedded local instance with every usable CPU of this
            machine, bound to 127.0.0.1, without dashboard; anything else is an existing cluster's address
            (``'auto'``, ``'ray://host:10001'``, ``'host:6379'``).

    Returns:
        True when this call connected (the caller disconnects with ``ray.shutdown()``), False when this process
        was connected already.

    Raises:
        ValueError: Ray is not installed, or the cluster cannot be reached (one line, with what to do).
    """
    embedded = address in (None, '', EMBEDDED)
    if embedded:
        os.environ.setdefault(_LOOPBACK_ONLY, '0')
    else:
        _check_reachable(address)
    try:
        import ray
    except ImportError as error:
        raise ValueError(MISSING_RAY.format(error)) from None
    if ray.is_initialized():
        return False
    try:
        if embedded:
            ray.init(
                address='local',
                num_cpus=usable_cpus(),
                include_dashboard=False,
                _node_ip_address='127.0.0.1',
                log_to_driver=False,
                configure_logging=False,
            )
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = 'start a local Ray instance' if embedded else f'connect to the Ray cluster at {address}'
        detail = ' '.join(str(error).split())[:300]
        raise ValueError(
            f'cannot {where} ({detail}); start a cluster with `ray start --head` and give its address to --ray, '
            'or give --ray alone for a local one'
        ) from None
    return True


def _check_reachable(address: str) -> None:
    """Fail at once when nothing answers at a cluster's address (Ray itself keeps trying for minutes).

    Raises:
        ValueError: The address is malformed, or nothing listens there.
    """
    if address == 'auto':
        return  # Ray finds this machine's cluster itself, and says at once when there is none
    host, _, port = (address[len('ray://') :] if address.startswith('ray://') else address).rpartition(':')
    if not host or not port.isdigit():
        raise ValueError(f'--ray {address}: not a Ray address; give auto, ray://HOST:10001 or HOST:6379')
    try:
        socket.create_connection((host.strip('[]'), int(port)), timeout=_REACH_SECONDS).close()
    except OSError as error:
        raise ValueError(
            f'cannot reach the Ray cluster at {address} ({error.strerror or error}); start one with '
            '`ray start --head` and give its address to --ray, or give --ray alone for a local one'
        ) from None


class ActorSlot(NamedTuple):
    """Where one actor runs and what it holds.

    Attributes:
        device: ``'cpu'`` or ``'cuda'`` (the GPU Ray gives it).
        num_cpus: CPUs it reserves (and torch threads it runs, on the CPU).
        num_gpus: Share of a GPU it reserves.
        node_id: The node it prefers (CPU actors), or None for any.
    """

    device: str
    num_cpus: float
    num_gpus: float
    node_id: Optional[str]


def plan_actors(nodes: Sequence[Mapping[str, Any]], device: str, num_per_device: int) -> List[ActorSlot]:
    """The actors of a job on a cluster, from the cluster's nodes as ``ray.nodes()`` describes them.

    Args:
        nodes: The nodes (``Alive``, ``NodeID``, ``Resources`` with ``CPU`` and ``GPU``).
        device: ``'auto'`` (GPUs when the cluster has any, else CPUs), ``'cuda'`` or ``'cpu'``.
        num_per_device: Actors per GPU, or per node on the CPU (``--num_process_per_gpu``).

    Returns:
        One slot per actor.

    Raises:
        ValueError: The device cannot be used on a cluster, or the cluster has none of it.
    """
    if device not in ('auto', 'cuda', 'cpu'):
        raise ValueError(f'with --ray, --device is auto, cuda or cpu (Ray gives each worker its device), got {device}')
    if isinstance(num_per_device, bool) or not isinstance(num_per_device, int) or num_per_device < 1:
        raise ValueError(f'num_process_per_gpu must be at least 1, got {num_per_device}')
    alive = [node for node in nodes if node.get('Alive', True)]
    gpus = sum(int(node['Resources'].get('GPU', 0)) for node in alive)
    if device != 'cpu' and gpus:
        return [ActorSlot('cuda', 0, 1 / num_per_device, None)] * (gpus * num_per_device)
    if device == 'cuda':
        raise ValueError('--device cuda: the Ray cluster has no GPU; use --device auto or cpu')
    slots = []
    for node in alive:
        cpus = int(node['Resources'].get('CPU', 0))
        count = min(num_per_device, cpus)
        slots += [ActorSlot('cpu', cpus // count, 0, node['NodeID'])] * count if count else []
    if not slots:
        raise ValueError('the Ray cluster has no CPU or GPU for the workers')
    return slots


class _Done(NamedTuple):
    """What an actor sends back for one item."""

    index: int
    value: Any
    failure: Optional[Tuple[str, str]]  # (message, detail) when the task raised
    reports: List[Any]
    warnings: List[str]
    node_id: str


class _Collect(logging.Handler):
    """Keeps the warnings the package logs in an actor, to send them with the item they belong to."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _warnings_kept() -> Iterator[List[str]]:
    """Within the block, the warnings the package logs are kept in the list it yields (to go back to the job)."""
    handler, package_logger = _Collect(), logging.getLogger('realesrgan')
    package_logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        package_logger.removeHandler(handler)


class UpscalerActor:
    """The body of one Ray actor: one upscaler built from the job's recipe, then the items it is handed.

    Args:
        work: The job's work (its recipe and task).
        device: ``'cpu'`` or ``'cuda'`` (the GPU Ray made visible to this process).
        num_threads: Torch CPU threads (0 leaves torch's default).
    """

    def __init__(self, work: Work, device: str, num_threads: int) -> None:
        import ray

        self.work = work
        self.node_id = ray.get_runtime_context().get_node_id()
        self.device = 'cuda:0' if device == 'cuda' else device
        self.upscaler, self.error = None, None
        if num_threads:
            import torch

            torch.set_num_threads(num_threads)
        with _warnings_kept() as self.warnings:
            try:
                self.upscaler = work.recipe(self.device)
            except Exception as error:  # noqa: BLE001 (reported to the job by ready(), which stops it)
                self.error = describe_exception(error)

    def ready(self) -> Tuple[str, Optional[str], List[str]]:
        """Its node, why its upscaler could not be built (None when it was), and the warnings of building it."""
        return self.node_id, self.error, self.warnings

    def do(self, index: int, item: Any) -> _Done:
        """Item ``index``: the task's value or its error, its reports and warnings, and this actor's node."""
        reports: List[Any] = []
        with _warnings_kept() as warnings:
            try:
                value, failure = self.work.task(self.upscaler, item, reports.append), None
            except Exception as error:  # noqa: BLE001 (one item fails, with its reason; the others go on)
                value, failure = None, (describe_error(error), describe_exception(error))
        return _Done(index, value, failure, reports, warnings, self.node_id)


class RayExecutor(Executor):
    """Runs items on Ray actors, on an embedded local instance or an existing cluster (see the module).

    Use it as a context manager (or call :meth:`connect` and :meth:`close`) when the job wants to know its workers
    before it runs; :meth:`run` connects by itself otherwise, and disconnects again.

    Args:
        address: :data:`EMBEDDED` for an embedded local instance, else the cluster's address (``'auto'``,
            ``'ray://host:10001'``, ``'host:6379'``).
        device: ``'auto'``, ``'cuda'`` or ``'cpu'`` (see :func:`plan_actors`).
        num_per_device: Actors per GPU, or per node on the CPU.
        retries: How many times Ray restarts a dead actor and retries its items, and how many times an item of an
            actor gone for good is given to another one.
        max_workers: At most this many actors (a job of few items), or None.

    Attributes:
        placements: After a run, the node id of the actor that did each item (by item index).
    """

    def __init__(
        self,
        address: str = EMBEDDED,
        device: str = 'auto',
        num_per_device: int = 1,
        retries: int = 3,
        max_workers: Optional[int] = None,
    ) -> None:
        self.address, self.device, self.num_per_device, self.retries = address, device, num_per_device, retries
        self.max_workers = max_workers
        self.slots: List[ActorSlot] = []
        self.placements: Dict[int, str] = {}
        self._connected = False

    def connect(self) -> List[ActorSlot]:
        """Connect to Ray and plan the actors; returns their slots.

        Raises:
            ValueError: Ray is missing, the cluster cannot be reached, or it has no device for the workers.
        """
        if not self.slots:
            self._connected = connect_ray(self.address) or self._connected
            import ray

            try:
                self.slots = plan_actors(ray.nodes(), self.device, self.num_per_device)[: self.max_workers]
            except ValueError:
                self.close()
                raise
        return self.slots

    def close(self) -> None:
        """Disconnect from Ray when :meth:`connect` connected (an embedded instance then stops)."""
        if self._connected:
            import ray

            ray.shutdown()
            self._connected = False
        self.slots = []

    def __enter__(self) -> 'RayExecutor':
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def devices(self) -> List[str]:
        """The device of each planned actor (after :meth:`connect`)."""
        return [slot.device for slot in self.slots]

    def describe(self) -> str:
        """One line: how many workers on which devices and nodes, e.g. ``'2 Ray workers on cpu (2 nodes)'``."""
        nodes = {slot.node_id for slot in self.slots if slot.node_id} or {'any'}
        where = f'{len(nodes)} node(s)' if 'any' not in nodes else 'the GPUs of the cluster'
        return f'{len(self.slots)} Ray worker(s) on {", ".join(sorted(set(self.devices)))} ({where})'

    def describe_placements(self) -> str:
        """One line: how many items each node did in the last run, e.g. ``'Ray nodes: 3f2a9c1e 6, 81bb0d47 6'``."""
        counts = Counter(self.placements.values())
        return 'Ray nodes: ' + ', '.join(f'{node[:8]} {count}' for node, count in sorted(counts.items()))

    def run(self, work: Work, items: Sequence[Any], listener: Optional[Listener] = None) -> List[ItemResult]:
        """See :meth:`~realesrgan.execution.executor.Executor.run`."""
        self.placements = {}
        if not items:
            return []
        connected_here = not self.slots
        self.connect()
        try:
            run = _ActorRun(self.slots[: len(items)], work, items, listener or Listener(), self.retries)
            try:
                results = run.run()
            finally:
                run.stop()
            self.placements = run.placements
            return results
        finally:
            if connected_here:
                self.close()


class _ActorRun:
    """One run: the actors, the items waiting and in flight, and the results so far."""

    def __init__(
        self, slots: Sequence[ActorSlot], work: Work, items: Sequence[Any], listener: Listener, retries: int
    ) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self.ray, self.slots, self.items, self.listener, self.retries = ray, slots, items, listener, retries
        remote = ray.remote(UpscalerActor)
        self.actors = []
        for slot in slots:
            strategy = NodeAffinitySchedulingStrategy(slot.node_id, soft=True) if slot.node_id else 'DEFAULT'
            options = dict(
                num_cpus=slot.num_cpus,
                num_gpus=slot.num_gpus,
                max_restarts=retries,
                max_task_retries=retries,
                scheduling_strategy=strategy,
            )
            threads = int(slot.num_cpus) if slot.device == 'cpu' else 0
            self.actors.append(remote.options(**options).remote(work, slot.device, threads))
        self.waiting: Deque[int] = deque(range(len(items)))
        self.in_flight: Dict[Any, Tuple[int, int]] = {}  # object ref -> (item index, actor)
        self.starting: Dict[Any, int] = {actor.ready.remote(): number for number, actor in enumerate(self.actors)}
        self.gone: set = set()
        self.node_of: Dict[int, str] = {}  # actor -> the node it was last heard from
        self.lost_node_since: Dict[int, float] = {}
        self.nodes_checked = time.monotonic()
        self.attempts: Dict[int, int] = {}
        self.results: Dict[int, ItemResult] = {}
        self.placements: Dict[int, str] = {}

    def run(self) -> List[ItemResult]:
        for number in range(len(self.actors)):
            self._feed(number)
        while len(self.results) < len(self.items):
            ready, _ = self.ray.wait(list(self.starting) + list(self.in_flight), num_returns=1, timeout=_WAIT_SECONDS)
            if time.monotonic() - self.nodes_checked > _NODE_CHECK_SECONDS:
                self._check_nodes()
            for ref in ready:
                if ref in self.starting:
                    self._started(self.starting.pop(ref), ref)
                else:
                    self._finished(ref)
        return [self.results[index] for index in range(len(self.items))]

    def stop(self) -> None:
        """End every actor (its upscaler and process with it)."""
        for actor in self.actors:
            self.ray.kill(actor, no_restart=True)

    def _feed(self, number: int) -> None:
        """Give actor ``number`` items until it has :data:`_IN_FLIGHT_PER_ACTOR`."""
        held = sum(1 for _, actor in self.in_flight.values() if actor == number)
        while number not in self.gone and self.waiting and held < _IN_FLIGHT_PER_ACTOR:
            index = self.waiting.popleft()
            self.attempts[index] = self.attempts.get(index, 0) + 1
            self.in_flight[self.actors[number].do.remote(index, self.items[index])] = (index, number)
            self.listener.started(index, number)
            held += 1

    def _check_nodes(self) -> None:
        """An actor whose node died and that was not heard from elsewhere in time is ended: its items move on."""
        self.nodes_checked = now = time.monotonic()
        alive = {node['NodeID'] for node in self.ray.nodes() if node.get('Alive')}
        for number, node in self.node_of.items():
            if number in self.gone or node in alive:
                self.lost_node_since.pop(number, None)
            elif now - self.lost_node_since.setdefault(number, now) > _RESCHEDULE_SECONDS:
                logger.warning('a Ray worker lost with node %s found no room elsewhere: its items move on', node[:8])
                self.ray.kill(self.actors[number], no_restart=True)  # its items come back as RayActorError

    def _started(self, number: int, ref: Any) -> None:
        try:
            node_id, error, warnings = self.ray.get(ref)
        except self.ray.exceptions.RayError as failure:  # the actor died before it said it was ready
            self._lose_actor(number, failure)
            return
        self.node_of[number] = node_id
        for message in warnings:
            self.listener.warning(number, message)
        if error is not None:
            raise WorkerStartError(number, self.slots[number].device, error)

    def _finished(self, ref: Any) -> None:
        index, number = self.in_flight.pop(ref)
        try:
            done: _Done = self.ray.get(ref)
        except self.ray.exceptions.RayActorError as failure:  # its restarts were used up: gone for good
            self._lose_actor(number, failure, index)
            return
        except self.ray.exceptions.RayError as failure:  # e.g. an item or value that does not pickle
            self._finish(ItemResult(index, failure=ItemFailure(describe_error(failure), number)))
        else:
            self.placements[index] = self.node_of[number] = done.node_id
            for message in done.warnings:
                self.listener.warning(number, message)
            for payload in done.reports:
                self.listener.progress(index, payload)
            failure = ItemFailure(done.failure[0], number, detail=done.failure[1]) if done.failure else None
            self._finish(ItemResult(index, done.value, failure))
        self._feed(number)

    def _lose_actor(self, number: int, failure: BaseException, index: Optional[int] = None) -> None:
        """Actor ``number`` is gone for good: its item goes to another actor, or fails; with none left, all do."""
        self.gone.add(number)
        lost = [index] if index is not None else []
        for ref, (item, actor) in list(self.in_flight.items()):
            if actor == number:
                del self.in_flight[ref]
                lost.append(item)
        alive = [n for n in range(len(self.actors)) if n not in self.gone]
        for item in lost:
            if alive and self.attempts.get(item, 0) <= self.retries:
                self.waiting.appendleft(item)
            else:
                what = f'its Ray worker ended ({describe_error(failure)[:200]})'
                self._finish(ItemResult(item, failure=ItemFailure(what, number, 'died')))
        if not alive:
            while self.waiting:
                abandoned = ItemFailure('every Ray worker had ended', -1, 'abandoned')
                self._finish(ItemResult(self.waiting.popleft(), failure=abandoned))
        for other in alive:
            self._feed(other)

    def _finish(self, result: ItemResult) -> None:
        if result.index not in self.results:
            self.results[result.index] = result
            self.listener.finished(result)
