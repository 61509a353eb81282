"""The shared pacing controller and the runner's retry rules (no network, no timing)."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace

import pytest

from dialcli.backends.base import ChatRequest, Delta, Reply
from dialcli.backends.retry import RetryPolicy
from dialcli.engine.base import AsyncBackend
from dialcli.engine.pacing import Pacer
from dialcli.engine.runner import Runner
from dialcli.errors import RateLimitError, ServerError, UsageError


def run(coro):
    return asyncio.run(coro)


def test_never_more_in_flight_than_jobs_and_the_limit_is_reached():
    async def scenario():
        pacer = Pacer(3)

        async def one():
            ticket = await pacer.acquire()
            await asyncio.sleep(0)
            await pacer.release(ticket, ok=True)

        await asyncio.gather(*(one() for _ in range(20)))
        return pacer.peak

    assert run(scenario()) == 3


def test_a_round_of_429s_halves_the_allowance_once_and_answers_restore_it():
    async def scenario():
        pacer = Pacer(8)
        tickets = [await pacer.acquire() for _ in range(8)]
        for ticket in tickets:  # all sent before the first 429 came back
            await pacer.throttle(ticket, None)
        after_round = pacer.allowance
        ticket = await pacer.acquire()  # sent after the cut: its 429 cuts again
        await pacer.throttle(ticket, None)
        after_second = pacer.allowance
        for _ in range(40):
            await pacer.release(await pacer.acquire(), ok=True)
        return after_round, after_second, pacer.allowance

    assert run(scenario()) == (4, 2, 8)


def test_retry_after_holds_every_start_until_it_passed():
    async def scenario():
        pacer = Pacer(4)
        first = await pacer.acquire()
        other = await pacer.acquire()
        await pacer.throttle(first, 0.05)
        held_until = pacer._hold_until
        later = await pacer.acquire()
        await pacer.release(other, ok=True)
        return later.started >= held_until

    assert run(scenario())


def test_rpm_spaces_the_starts():
    async def scenario():
        pacer = Pacer(10, rpm=1200)  # one start per 50 ms
        starts = []
        for _ in range(3):
            ticket = await pacer.acquire()
            starts.append(ticket.started)
            await pacer.release(ticket, ok=True)
        return [b - a for a, b in itertools.pairwise(starts)]

    assert all(gap >= 0.05 - 1e-3 for gap in run(scenario()))


class Scripted(AsyncBackend):
    """Fails with the scripted errors, one per call, then answers."""

    def __init__(self, errors):
        self.errors = list(errors)
        self.calls = 0

    async def astream(self, request):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        yield Delta(text="ok", finish_reason="stop")

    async def acomplete(self, request):
        raise AssertionError("not used")


def outcome(backend, jobs, retries=2):
    runner = Runner(backend, Pacer(jobs), RetryPolicy(retries=retries, base_delay=0))
    return run(runner.run(ChatRequest(model="m", messages=[])))


def test_a_429_while_the_pacer_can_slow_down_costs_no_retry():
    errors = [RateLimitError("slow down", status=429, retry_after=0)] * 3
    backend = Scripted(errors)
    result = outcome(backend, jobs=16, retries=0)
    assert (result.error, result.reply.content, backend.calls) == (None, "ok", 4)


def test_at_one_in_flight_a_429_counts_against_the_retries():
    errors = [RateLimitError("slow down", status=429, retry_after=0)] * 3
    result = outcome(Scripted(errors), jobs=1, retries=2)
    assert isinstance(result.error, RateLimitError) and result.attempts == 3


@pytest.mark.parametrize(
    ("error", "attempts"),
    [(ServerError("boom", status=503), 3), (UsageError("bad", status=400), 1)],
)
def test_other_errors_follow_the_retry_policy(error, attempts):
    result = outcome(Scripted([error] * 5), jobs=4, retries=2)
    assert result.error is error and result.attempts == attempts


def test_a_reply_is_assembled_from_the_deltas():
    result = outcome(Scripted([]), jobs=1)
    assert replace(result.reply, latency_ms=None) == Reply(
        model="m", content="ok", finish_reason="stop"
    )
