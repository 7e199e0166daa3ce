"""OpenRouterProvider against the fake OpenRouter over real loopback sockets.

Each test asserts what a user would notice: the full answer text, which model answered,
how long they waited, and the plain message they see when things go wrong.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from chatapp.services.llm.base import ChatTurn, Delta, LLMStreamError, LLMUnavailable
from chatapp.services.llm.openrouter import BUSY, MISCONFIGURED, OpenRouterProvider, make_client
from tests.fakes.fake_openrouter import (
    FakeOpenRouter,
    cut,
    finish_error,
    hang,
    make_text,
    midstream_error,
    ok,
    status,
)

pytestmark = pytest.mark.asyncio

KEY = "sk-or-v1-secret-test-key"
QUESTION = "Where is my order 12345?"
MESSAGES: list[ChatTurn] = [
    {"role": "system", "content": "You are a helpful support agent."},
    {"role": "user", "content": QUESTION},
]
TEXT = make_text(300)


@pytest.fixture
def fake() -> Iterator[FakeOpenRouter]:
    with FakeOpenRouter(text=TEXT, chunk_size=7, delay=0.001) as server:
        yield server


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as http:
        yield http


def provider(
    fake: FakeOpenRouter, client: httpx.AsyncClient, models: list[str], **options: float
) -> OpenRouterProvider:
    return OpenRouterProvider(api_key=KEY, base_url=fake.base_url, models=models, client=client, **options)


async def collect(llm: OpenRouterProvider) -> list[Delta]:
    return [delta async for delta in llm.stream_reply(MESSAGES)]


async def collect_until_error(llm: OpenRouterProvider) -> tuple[list[Delta], BaseException]:
    """Deltas received before the stream failed, and the error; fails the test if none is raised."""
    received: list[Delta] = []
    with pytest.raises(Exception) as caught:
        async for delta in llm.stream_reply(MESSAGES):
            received.append(delta)
    return received, caught.value


def requested_models(fake: FakeOpenRouter) -> list[str]:
    return [body["model"] for body in fake.requests]


# --- SSE parsing -----------------------------------------------------------------------------


async def test_streams_whole_answer_skipping_keepalives_and_empty_deltas(fake, client):
    fake.keepalives = 3
    deltas = await collect(provider(fake, client, ["model-a"]))

    assert "".join(d.text for d in deltas) == TEXT
    assert all(d.text for d in deltas), "empty deltas (role chunk, finish chunk) must be skipped"
    assert {d.model for d in deltas} == {"model-a"}
    assert len(deltas) == len(fake.send_log)  # one delta per text chunk the server wrote


async def test_events_split_across_tcp_writes_and_utf8_characters(fake, client):
    fake.split_writes = True
    deltas = await collect(provider(fake, client, ["model-a"]))

    assert "".join(d.text for d in deltas) == TEXT
    assert "—" in TEXT and "€" in TEXT  # multi-byte characters really were split across writes


async def test_stops_at_done_even_if_server_keeps_connection_open(fake, client):
    fake.script("model-a", ok(linger=10))
    started = time.monotonic()
    deltas = await collect(provider(fake, client, ["model-a"], read_timeout=3))

    assert "".join(d.text for d in deltas) == TEXT
    assert time.monotonic() - started < 2


async def test_midstream_error_event_raises_instead_of_truncated_answer(fake, client):
    fake.script("model-a", midstream_error(after_chars=70))
    received, error = await collect_until_error(provider(fake, client, ["model-a", "model-b"]))

    assert isinstance(error, LLMStreamError)
    assert "".join(d.text for d in received) == TEXT[:70]
    assert requested_models(fake) == ["model-a"]  # text was shown: no silent switch of model
    assert "Traceback" not in str(error) and KEY not in str(error)


async def test_finish_reason_error_raises_stream_error(fake, client):
    fake.script("model-a", finish_error(after_chars=35))
    received, error = await collect_until_error(provider(fake, client, ["model-a"]))

    assert isinstance(error, LLMStreamError)
    assert "".join(d.text for d in received) == TEXT[:35]


async def test_dropped_connection_after_first_token_raises_stream_error(fake, client):
    fake.script("model-a", cut(after_chars=70))
    received, error = await collect_until_error(provider(fake, client, ["model-a"]))

    assert isinstance(error, LLMStreamError)
    assert "".join(d.text for d in received) == TEXT[:70]


async def test_read_timeout_after_first_token_raises_stream_error(fake, client):
    fake.script("model-a", hang(10, after_chars=35))
    started = time.monotonic()
    received, error = await collect_until_error(provider(fake, client, ["model-a"], read_timeout=0.3))

    assert isinstance(error, LLMStreamError)
    assert "".join(d.text for d in received) == TEXT[:35]
    assert time.monotonic() - started < 2


async def test_answer_ending_without_done_raises_stream_error(fake, client):
    fake.script("model-a", hang(0.1, after_chars=35))  # then a clean end of body, no [DONE]
    received, error = await collect_until_error(provider(fake, client, ["model-a"]))

    assert isinstance(error, LLMStreamError)
    assert "".join(d.text for d in received) == TEXT[:35]


async def test_delta_model_is_the_one_reported_by_chunks_else_requested(fake, client):
    fake.report_model = {
        "openrouter/auto": "meta-llama/llama-3.3-70b-instruct:free",
        "model-b": None,
    }
    llm = provider(fake, client, ["openrouter/auto", "model-b"])

    assert {d.model for d in await collect(llm)} == {"meta-llama/llama-3.3-70b-instruct:free"}
    assert {d.model for d in await collect(llm)} == {"model-b"}


async def test_closing_the_stream_early_stops_the_upstream_response(fake, client):
    fake.text, fake.chunk_size, fake.delay = make_text(4000), 4, 0.005  # ~5 s if left running
    stream = provider(fake, client, ["model-a"]).stream_reply(MESSAGES)
    first = await anext(stream)
    await stream.aclose()  # the user pressed "stop"
    await asyncio.sleep(0.3)
    chunks_sent = len(fake.send_log)
    await asyncio.sleep(0.3)

    assert first.text == "Than"
    assert len(fake.send_log) == chunks_sent < 200


# --- request shape -----------------------------------------------------------------------------


async def test_sends_auth_attribution_headers_and_streaming_body(fake, client):
    llm = OpenRouterProvider(
        api_key=KEY,
        base_url=fake.base_url + "/",
        models=["model-a"],
        client=client,
        referer="https://help.example.com",
        title="Example Helpdesk",
    )
    await collect(llm)

    headers = fake.request_headers[0]
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["http-referer"] == "https://help.example.com"
    assert headers["x-title"] == "Example Helpdesk"
    assert fake.requests == [{"model": "model-a", "messages": MESSAGES, "stream": True}]


# --- rotation and fallback ------------------------------------------------------------------------


async def test_round_robin_start_model_across_requests(fake, client):
    llm = provider(fake, client, ["model-a", "model-b", "model-c"])

    answered = [(await collect(llm))[0].model for _ in range(4)]

    assert answered == ["model-a", "model-b", "model-c", "model-a"]


async def test_round_robin_is_fair_for_concurrent_requests(fake, client):
    llm = provider(fake, client, ["model-a", "model-b"])

    results = await asyncio.gather(*(collect(llm) for _ in range(4)))

    assert sorted(deltas[0].model for deltas in results) == [
        "model-a",
        "model-a",
        "model-b",
        "model-b",
    ]


@pytest.mark.parametrize(
    "failure", [status(500), status(503), status(408), status(400), midstream_error(after_chars=0)]
)
async def test_failure_before_first_token_falls_back_to_next_model(fake, client, failure):
    fake.script("model-a", failure)
    deltas = await collect(provider(fake, client, ["model-a", "model-b"]))

    assert "".join(d.text for d in deltas) == TEXT
    assert {d.model for d in deltas} == {"model-b"}
    assert requested_models(fake) == ["model-a", "model-b"]


async def test_hang_before_first_token_falls_back_after_read_timeout(fake, client):
    fake.script("model-a", hang(10))
    started = time.monotonic()
    deltas = await collect(provider(fake, client, ["model-a", "model-b"], read_timeout=0.3))

    assert {d.model for d in deltas} == {"model-b"}
    assert "".join(d.text for d in deltas) == TEXT
    assert 0.25 < time.monotonic() - started < 2


async def test_unreachable_server_is_busy_not_a_crash(client):
    with socket.socket() as sock:  # bound but not listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/v1"
        llm = OpenRouterProvider(api_key=KEY, base_url=base_url, models=["a", "b"], client=client)
        with pytest.raises(LLMUnavailable) as caught:
            await collect(llm)
    assert str(caught.value) == BUSY


async def test_429_waits_retry_after_then_uses_next_model(fake, client):
    fake.script("model-a", status(429, retry_after=1))
    started = time.monotonic()
    deltas = await collect(provider(fake, client, ["model-a", "model-b"]))

    assert 0.9 < time.monotonic() - started < 2.5
    assert {d.model for d in deltas} == {"model-b"}


async def test_429_retry_after_is_capped(fake, client):
    fake.script("model-a", status(429, retry_after=120))
    started = time.monotonic()
    deltas = await collect(provider(fake, client, ["model-a", "model-b"], max_retry_after=0.4))

    assert 0.35 < time.monotonic() - started < 2
    assert {d.model for d in deltas} == {"model-b"}


async def test_429_retry_after_http_date(fake, client):
    fake.script("model-a", status(429, retry_after=email.utils.formatdate(time.time() + 2, usegmt=True)))
    started = time.monotonic()
    deltas = await collect(provider(fake, client, ["model-a", "model-b"]))

    assert 0.5 < time.monotonic() - started < 3  # the date has 1 s resolution
    assert {d.model for d in deltas} == {"model-b"}


async def test_retry_after_longer_than_budget_gives_up_at_once(fake, client):
    fake.script("model-a", status(429, retry_after=5))
    started = time.monotonic()
    with pytest.raises(LLMUnavailable) as caught:
        await collect(provider(fake, client, ["model-a", "model-b"], total_budget=1))

    assert str(caught.value) == BUSY
    assert time.monotonic() - started < 0.5
    assert requested_models(fake) == ["model-a"]


async def test_all_models_failing_is_busy_and_each_tried_once(fake, client):
    for model in ("model-a", "model-b", "model-c"):
        fake.script(model, status(429), status(429))
    with pytest.raises(LLMUnavailable) as caught:
        await collect(provider(fake, client, ["model-a", "model-b", "model-c"]))

    assert str(caught.value) == BUSY == "The assistant is busy, please retry in a moment."
    assert requested_models(fake) == ["model-a", "model-b", "model-c"]


async def test_total_budget_bounds_the_wait_when_every_model_hangs(fake, client):
    fake.script("model-a", hang(30))
    fake.script("model-b", hang(30))
    started = time.monotonic()
    with pytest.raises(LLMUnavailable) as caught:
        await collect(provider(fake, client, ["model-a", "model-b"], read_timeout=20, total_budget=1))

    assert str(caught.value) == BUSY
    assert 0.9 < time.monotonic() - started < 2


async def test_unauthorized_stops_at_once_with_configuration_message(fake, client):
    fake.script("model-a", status(401))
    with pytest.raises(LLMUnavailable) as caught:
        await collect(provider(fake, client, ["model-a", "model-b"]))

    assert str(caught.value) == MISCONFIGURED
    assert str(caught.value).startswith("The assistant is not configured correctly")
    assert requested_models(fake) == ["model-a"]


async def test_fallback_logs_model_and_status_but_no_key_or_message(fake, client, caplog):
    fake.script("model-a", status(503))
    with caplog.at_level(logging.DEBUG):
        await collect(provider(fake, client, ["model-a", "model-b"]))

    ours = [r.getMessage() for r in caplog.records if r.name.startswith("chatapp")]
    assert any("model-a" in line and "503" in line for line in ours)
    everything = caplog.text
    assert KEY not in everything and QUESTION not in everything
