"""Pacing a provider's stream: fewer network reads, nothing lost, never behind."""

from __future__ import annotations

import asyncio
import time

from chatapp.services.llm.base import Delta, paced


async def _stream(pieces: int, network_wait: float):
    for number in range(pieces):
        if network_wait:
            await asyncio.sleep(network_wait)
        yield Delta(f"{number} ", "m")


async def _collect(stream) -> tuple[str, float]:
    started = time.monotonic()
    text = "".join([delta.text async for delta in stream])
    return text, time.monotonic() - started


async def test_buffered_deltas_pass_without_pauses():
    text, took = await _collect(paced(_stream(200, 0), pause=0.05))
    assert text == "".join(f"{n} " for n in range(200))
    assert took < 0.05


async def test_a_delta_that_waited_for_the_network_is_followed_by_a_pause():
    text, took = await _collect(paced(_stream(5, 0.005), pause=0.03))
    assert text == "0 1 2 3 4 "
    assert took >= 5 * 0.03


async def test_closing_the_paced_stream_closes_the_provider_stream():
    closed = asyncio.Event()

    async def provider():
        try:
            while True:
                yield Delta("x", "m")
        finally:
            closed.set()

    stream = paced(provider(), pause=0)
    await anext(stream)
    await stream.aclose()
    assert closed.is_set()
