"""Waiting for what another thread or process does (a poll, a replica, a writer) without guessing a sleep."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 30.0, pause: float = 0.1) -> T:
    """Call `check` until it returns something true, for at most `timeout` seconds; its last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(pause)
