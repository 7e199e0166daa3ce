"""The sliding-window limiter used for login lock-outs and AI limits."""

from __future__ import annotations

import asyncio

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


async def test_keys_are_independent_and_reset_and_forget_free_slots():
    limiter = MemoryRateLimiter(clock=Clock())
    first, _ = await limiter.hit("a", 2, 60)
    await limiter.hit("a", 2, 60)
    assert await limiter.hit("a", 2, 60) == ("", 60.0)
    assert (await limiter.hit("b", 2, 60))[0]
    await limiter.forget("a", first)
    assert (await limiter.hit("a", 2, 60))[0]
    await limiter.reset("a")
    assert (await limiter.hit("a", 2, 60))[0]


async def test_hits_at_once_never_exceed_the_limit():
    limiter = MemoryRateLimiter()
    events = await asyncio.gather(*(limiter.hit("k", 5, 60) for _ in range(40)))
    assert sum(1 for event, _ in events if event) == 5


async def test_memory_is_bounded():
    limiter = MemoryRateLimiter(maxsize=10, clock=Clock())
    for n in range(100):
        await limiter.hit(f"key{n}", 5, 60)
    assert len(limiter._events) <= 10


def test_wait_phrase():
    assert wait_phrase(0.2) == "in 1 second"
    assert wait_phrase(30) == "in 30 seconds"
    assert wait_phrase(899.2) == "in 15 minutes"
