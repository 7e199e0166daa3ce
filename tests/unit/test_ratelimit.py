"""The sliding-window limiter used for login lock-outs and AI limits."""

from __future__ import annotations

from chatapp.services.ratelimit import MemoryRateLimiter, take, wait_phrase


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_take_allows_up_to_the_limit_then_says_how_long_to_wait():
    clock = Clock()
    limiter = MemoryRateLimiter(clock=clock)
    for _ in range(3):
        assert await take(limiter, "k", limit=3, window=60) == 0
    clock.now = 20
    assert await take(limiter, "k", limit=3, window=60) == 40
    clock.now = 60.5
    assert await take(limiter, "k", limit=3, window=60) == 0


async def test_keys_are_independent_and_reset_forgets():
    limiter = MemoryRateLimiter(clock=Clock())
    for _ in range(2):
        await limiter.add("a", 60)
    assert (await limiter.count("a", 60))[0] == 2
    assert (await limiter.count("b", 60))[0] == 0
    await limiter.reset("a")
    assert (await limiter.count("a", 60)) == (0, 0.0)


async def test_memory_is_bounded():
    limiter = MemoryRateLimiter(maxsize=10, clock=Clock())
    for n in range(100):
        await limiter.add(f"key{n}", 60)
    assert len(limiter._events) <= 10


def test_wait_phrase():
    assert wait_phrase(0.2) == "in 1 second"
    assert wait_phrase(30) == "in 30 seconds"
    assert wait_phrase(899.2) == "in 15 minutes"
