"""The executor interface: the same work gives the same per-item results here and in worker processes; a failing
item fails alone; a worker that dies has its item retried (when asked) or failed; a worker that cannot start stops
the run."""

import os
import signal
from typing import Any, List

import pytest

from realesrgan.execution.executor import InProcessExecutor, ItemResult, Listener, Task, Work, WorkerStartError
from realesrgan.execution.local_pool import LocalPoolExecutor


class Doubler:
    """A stand-in recipe: its 'upscaler' multiplies by two (fails to build on the device 'broken')."""

    def __call__(self, device: str) -> int:
        if device == 'broken':
            raise RuntimeError('no such device')
        return 2


class MultiplyTask(Task):
    """Loads nothing, multiplies the item by the upscaler, reports the item; raises for 3; for 'die-once', the
    first worker to take the item kills its own process (a marker file tells the second attempt)."""

    def __init__(self, marker: str = '') -> None:
        self.marker = marker

    def run(self, upscaler: int, item: Any, loaded: Any, report) -> int:
        report(('item', item))
        if item == 3:
            raise ValueError('three is not allowed')
        if item == 'die-once':
            if not os.path.exists(self.marker):
                open(self.marker, 'w').close()
                os.kill(os.getpid(), signal.SIGKILL)
            return -1
        return upscaler * item


class Recording(Listener):
    def __init__(self) -> None:
        self.started_indices: List[int] = []
        self.progress_payloads: List[Any] = []
        self.results: List[ItemResult] = []

    def started(self, index: int, worker: int) -> None:
        self.started_indices.append(index)

    def progress(self, index: int, payload: Any) -> None:
        self.progress_payloads.append((index, payload))

    def finished(self, result: ItemResult) -> None:
        self.results.append(result)


@pytest.mark.parametrize(
    'executor',
    [InProcessExecutor('cpu'), pytest.param(LocalPoolExecutor(['cpu', 'cpu']), marks=pytest.mark.subprocess)],
    ids=['in-process', 'local-pool'],
)
def test_every_item_gets_its_result_in_order_and_a_failing_item_fails_alone(executor):
    listener = Recording()
    results = executor.run(Work(Doubler(), MultiplyTask()), [1, 2, 3, 4], listener)
    assert [result.index for result in results] == [0, 1, 2, 3]
    assert [result.value for result in results] == [2, 4, None, 8]
    failure = results[2].failure
    assert failure.message == 'three is not allowed' and failure.kind == 'raised'
    assert failure.detail.startswith('ValueError: three is not allowed (at test_executors.py:')
    assert sorted(listener.started_indices) == [0, 1, 2, 3]
    assert sorted(listener.progress_payloads) == [(k, ('item', k + 1)) for k in range(4)]
    assert sorted(result.index for result in listener.results) == [0, 1, 2, 3]


@pytest.mark.parametrize(
    'executor',
    [InProcessExecutor('broken'), pytest.param(LocalPoolExecutor(['broken']), marks=pytest.mark.subprocess)],
    ids=['in-process', 'local-pool'],
)
def test_a_worker_that_cannot_build_its_upscaler_stops_the_run(executor):
    with pytest.raises(WorkerStartError, match='worker 0 on broken could not start: RuntimeError: no such device'):
        executor.run(Work(Doubler(), MultiplyTask()), [1, 2])


@pytest.mark.subprocess
def test_the_item_of_a_worker_that_died_is_retried_on_another_worker(tmp_path):
    marker = str(tmp_path / 'died-once')
    results = LocalPoolExecutor(['cpu', 'cpu'], retries=1).run(
        Work(Doubler(), MultiplyTask(marker)), [1, 'die-once', 5]
    )
    assert [result.value for result in results] == [2, -1, 10]
    assert os.path.exists(marker)  # the first attempt did die


@pytest.mark.subprocess
def test_without_retries_the_item_of_a_dead_worker_fails_with_how_it_ended(tmp_path):
    marker = str(tmp_path / 'died-once')
    results = LocalPoolExecutor(['cpu', 'cpu']).run(Work(Doubler(), MultiplyTask(marker)), [1, 'die-once', 5])
    assert [result.value for result in results if result.ok] == [2, 10]
    failure = results[1].failure
    assert failure.kind == 'died' and failure.message == 'killed by SIGKILL, often: out of memory'


def test_a_listener_that_raises_stops_the_run_after_the_item_it_heard_of():
    class Stop(BaseException):
        pass

    class StopAfterFirst(Listener):
        def finished(self, result: ItemResult) -> None:
            raise Stop()

    done = []

    class Counting(MultiplyTask):
        def run(self, upscaler: int, item: Any, loaded: Any, report) -> int:
            done.append(item)
            return super().run(upscaler, item, loaded, report)

    with pytest.raises(Stop):
        InProcessExecutor('cpu').run(Work(Doubler(), Counting()), [1, 2, 4], StopAfterFirst())
    assert done == [1]
