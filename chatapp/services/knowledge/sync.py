"""Telling the other workers which article changed, through Redis.

A save publishes `<version> <worker> <article id>` after incrementing a shared version
counter. Listeners reload that article from MongoDB (the truth); a version they did not see
(a message lost while reconnecting) makes them reload everything, and so does finding the
counter ahead of them when they check it every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CHANNEL = "helpdesk:knowledge"
VERSION_KEY = "helpdesk:knowledge:version"
CHECK_SECONDS = 5.0
RETRY_SECONDS = 1.0


class RedisSync:
    def __init__(
        self,
        redis: Redis,
        on_change: Callable[[str], Awaitable[None]],
        on_missed: Callable[[], Awaitable[None]],
    ) -> None:
        self._redis = redis
        self._on_change = on_change
        self._on_missed = on_missed
        self._worker = uuid.uuid4().hex
        self._seen = 0
        self._task: asyncio.Task | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        """Subscribe (before the caller loads, so no save falls in between) and listen."""
        self._seen = int(await self._redis.get(VERSION_KEY) or 0)
        self._task = asyncio.create_task(self._listen(), name="knowledge-sync")
        await self._subscribed.wait()

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def publish(self, article_id: str) -> None:
        try:
            version = await self._redis.incr(VERSION_KEY)
            await self._redis.publish(CHANNEL, f"{version} {self._worker} {article_id}")
        except RedisError as error:  # the save is stored; others catch up at their next check
            log.warning("Could not announce knowledge change of %s: %s", article_id, error)

    async def _listen(self) -> None:
        reconnecting = False
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self._subscribed.set()
                    if reconnecting:
                        await self._catch_up(force=True)
                    await self._receive(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - keep listening whatever went wrong
                log.warning("Knowledge sync lost its Redis subscription (%s); retrying", error)
                self._subscribed.set()  # start() must not hang while Redis is down
                reconnecting = True
                await asyncio.sleep(RETRY_SECONDS)

    async def _receive(self, pubsub) -> None:
        loop = asyncio.get_running_loop()
        next_check = loop.time() + CHECK_SECONDS
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                data = message["data"]
                text = data.decode() if isinstance(data, bytes) else data  # decode_responses or not
                version, worker, article_id = text.split(" ", 2)
                missed = int(version) > self._seen + 1
                self._seen = max(self._seen, int(version))
                if missed:
                    await self._on_missed()
                elif worker != self._worker:
                    await self._on_change(article_id)
            if loop.time() >= next_check:
                next_check = loop.time() + CHECK_SECONDS
                await self._catch_up()

    async def _catch_up(self, force: bool = False) -> None:
        latest = int(await self._redis.get(VERSION_KEY) or 0)
        if force or latest > self._seen:
            self._seen = max(self._seen, latest)
            await self._on_missed()
