"""The background pusher waits until every worker's fetch cache can have seen the commit."""
from __future__ import annotations

from xmlcurl.push.plan import NodeInfo, NodePlan
from xmlcurl.push.worker import Pusher, settle_seconds

PLAN = NodePlan(NodeInfo(1, "media-1", "media", "127.0.0.11"), ("reloadacl",))


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_push_waits_one_cache_poll_interval_after_the_commit():
    fake, ran = FakeTime(), []
    pusher = Pusher(run=lambda plans, settings: ran.append(fake.now) or [], clock=fake.clock, sleep=fake.sleep)
    pusher.submit([PLAN], {"CACHE": True, "CACHE_POLL_SECONDS": 0.5})
    assert pusher.wait_idle(10)
    assert fake.slept == [0.5] and ran == [100.5]


def test_without_a_cache_nothing_is_waited_for():
    assert settle_seconds({"CACHE": False, "CACHE_POLL_SECONDS": 0.5}) == 0
    assert settle_seconds({"CACHE": True, "CACHE_POLL_SECONDS": 0}) == 0
    fake = FakeTime()
    pusher = Pusher(run=lambda plans, settings: [], clock=fake.clock, sleep=fake.sleep)
    pusher.submit([PLAN], {"CACHE": False, "CACHE_POLL_SECONDS": 0.5})
    assert pusher.wait_idle(10)
    assert fake.slept == []
