"""The newest-job thread behind image loading and preparing: only the newest waiting job
runs, errors are delivered rather than lost, and nothing arrives after close()."""

from __future__ import annotations

import threading

from explorer.background import JobOutcome, NewestJobThread


class _Collector:
    def __init__(self) -> None:
        self.outcomes: list[JobOutcome] = []
        self._changed = threading.Condition()

    def __call__(self, outcome: JobOutcome) -> None:
        with self._changed:
            self.outcomes.append(outcome)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Whether ``count`` outcomes have arrived within ``timeout`` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.outcomes) >= count, timeout)


def test_a_newer_job_replaces_one_still_waiting() -> None:
    collector = _Collector()
    thread = NewestJobThread("test", collector)
    started, release = threading.Event(), threading.Event()

    def first() -> str:
        started.set()
        release.wait(10)
        return "first done"

    thread.submit("first", first)
    assert started.wait(10)
    for name in ("second", "third", "fourth"):  # queued while the first runs: only the last stays
        thread.submit(name, lambda name=name: f"{name} done")
    assert thread.busy
    release.set()
    assert collector.wait_for(2)
    assert [(outcome.tag, outcome.value) for outcome in collector.outcomes] == [
        ("first", "first done"), ("fourth", "fourth done")]
    thread.close()


def test_an_error_is_delivered_and_the_thread_goes_on() -> None:
    collector = _Collector()
    thread = NewestJobThread("test", collector)

    def fails() -> None:
        raise MemoryError("no room")

    thread.submit("bad", fails)
    assert collector.wait_for(1)
    thread.submit("good", lambda: 42)
    assert collector.wait_for(2)
    bad, good = collector.outcomes
    assert isinstance(bad.error, MemoryError) and bad.value is None
    assert good.error is None and good.value == 42 and not thread.busy
    thread.close()


def test_nothing_is_delivered_after_close() -> None:
    collector = _Collector()
    thread = NewestJobThread("test", collector)
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(10)
        return "late"

    thread.submit("slow", slow)
    assert started.wait(10)
    thread.close()
    release.set()
    thread.submit("after", lambda: "never")
    assert not collector.wait_for(1, timeout=0.3)
    assert collector.outcomes == []
