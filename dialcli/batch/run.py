"""Running a batch: items in, the Runner sends them, results out in order.

Exit status (DESIGN.md, "dial batch exit codes"): 0 when every item succeeded; 1 with
"N of M items failed"; 2 for bad options or an unreadable input file; 130 after Ctrl-C
(what finished is written). An error no item can escape (the key is refused, the
deployment does not exist) stops the batch with that error's own code (3, 4).
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from dialcli.batch.feed import ItemFeed
from dialcli.batch.items import Item
from dialcli.batch.progress import Progress
from dialcli.batch.results import Result, ResultWriter, id_key, make_result
from dialcli.engine.pacing import Pacer, PacerClosed
from dialcli.errors import AuthError, DialError, NotFoundError

if TYPE_CHECKING:
    from dialcli.backends.base import ChatRequest
    from dialcli.engine.base import AsyncBackend
    from dialcli.engine.runner import Runner
    from dialcli.output import IOStreams
    from dialcli.store import Store

GRACE_SECONDS = 5.0  # after Ctrl-C, how long answers in flight may take to finish
PROGRESS_EVERY = 0.25


@dataclass(frozen=True)
class Plan:
    """What run_items needs besides the items: everything is decided beforehand."""

    io: IOStreams
    make_backend: Callable[[int], AsyncBackend]
    make_request: Callable[[Item], ChatRequest]
    model: str
    jobs: int
    rpm: float | None
    retries: int
    out: BinaryIO
    text: bool = False
    ordered: bool = True
    done: set[bytes] = field(default_factory=set)
    store: Store | None = None
    progress: bool = False
    total: int | None = None
    stream: bool = True
    verbose: bool = False


@dataclass
class Summary:
    written: int = 0
    failed: int = 0
    skipped: int = 0
    interrupted: bool = False
    terminated: bool = False
    fatal: DialError | None = None
    peak_in_flight: int = 0
    throttled: int = 0


class _Stop:
    """Ctrl-C once: stop sending, let answers finish; twice (or SIGTERM): now."""

    def __init__(self, summary: Summary, pacer: Pacer) -> None:
        self.soft = asyncio.Event()
        self.hard = asyncio.Event()
        self.summary = summary
        self._pacer = pacer

    def stop_sending(self) -> None:
        """No new request leaves; answers in flight go on."""
        if not self.soft.is_set():
            self.soft.set()
            self._pacer.close()

    def interrupt(self) -> None:
        self.summary.interrupted = True
        if self.soft.is_set():
            self.hard.set()
        self.stop_sending()

    def terminate(self) -> None:
        self.summary.terminated = True
        self.stop_sending()
        self.hard.set()


def run_items(plan: Plan, items: Iterator[Item]) -> Summary:
    """Run the batch on one event loop; returns what happened (never raises for items)."""
    return asyncio.run(_run(plan, items))


async def _run(plan: Plan, items: Iterator[Item]) -> Summary:
    from dialcli.backends.retry import RetryPolicy
    from dialcli.engine.runner import Runner

    summary = Summary()
    pacer = Pacer(plan.jobs, plan.rpm)
    stop = _Stop(summary, pacer)
    loop = asyncio.get_running_loop()
    installed = _install_signals(loop, stop)
    backend = plan.make_backend(plan.jobs)
    # Ordered output holds early finishers; this bounds how far ahead items may start.
    window = asyncio.Semaphore(max(1024, plan.jobs * 16))
    # Tasks exist only for items about to be sent (or retried): a thousand tasks parked
    # in the pacer would all wake at every answer.
    launch = asyncio.Semaphore(plan.jobs)
    progress = Progress(plan.io.stderr, plan.total) if plan.progress else None

    def written(result: Result) -> None:
        window.release()
        summary.written += 1
        summary.failed += result.error is not None
        if progress is not None:
            progress.done += 1
            progress.failed += result.error is not None

    writer = ResultWriter(
        plan.out,
        text=plan.text,
        ordered=plan.ordered,
        on_written=written,
        errors=plan.io.stderr,
    )
    runner = Runner(backend, pacer, RetryPolicy(retries=plan.retries), stream=plan.stream)
    feed = ItemFeed(items, loop)
    tasks: set[asyncio.Task[None]] = set()
    ticker = asyncio.create_task(_tick(progress)) if progress is not None else None
    try:
        await _produce(plan, feed, writer, (window, launch), stop, summary, tasks, runner)
        await _finish(tasks, stop)
        if stop.soft.is_set():
            writer.flush_held()
    finally:
        feed.close()
        if ticker is not None:
            ticker.cancel()
        if progress is not None:
            progress.finish()
        for sig, previous in installed:
            loop.remove_signal_handler(sig)
            signal.signal(sig, previous)
        await backend.aclose()
    summary.peak_in_flight = pacer.peak
    summary.throttled = pacer.throttled
    if plan.verbose:
        plan.io.err(
            f"dial: debug: batch: {summary.written} written, {summary.failed} failed, "
            f"{summary.skipped} skipped; at most {pacer.peak} in flight, "
            f"{pacer.throttled} answered 429"
        )
    return summary


async def _produce(
    plan: Plan,
    feed: ItemFeed,
    writer: ResultWriter,
    gates: tuple[asyncio.Semaphore, asyncio.Semaphore],
    stop: _Stop,
    summary: Summary,
    tasks: set[asyncio.Task[None]],
    runner: Runner,
) -> None:
    """Start items until the input ends or a stop; never more than the window ahead,
    and never more tasks than ``-j``."""
    while not stop.soft.is_set():
        item = await (feed.next() if feed.ready() else _unless_stopped(feed.next(), stop))
        if item is None:
            return
        if plan.done and id_key(item.id) in plan.done:
            summary.skipped += 1
            writer.skip(item.seq)
            continue
        if not await _take(gates[0], stop):
            return
        if item.error is not None:
            writer.add(make_result(item, model=plan.model, error=item.error))
            continue
        if not await _take(gates[1], stop):
            return
        task = asyncio.create_task(_one(plan, runner, item, writer, stop, summary))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        task.add_done_callback(lambda _: gates[1].release())


async def _one(
    plan: Plan, runner: Runner, item: Item, writer: ResultWriter, stop: _Stop, summary: Summary
) -> None:
    try:
        outcome = await runner.run(plan.make_request(item))
    except PacerClosed:
        return  # never sent (or not again): it runs on --resume
    reply, error = outcome.reply, outcome.error
    if error is not None and _is_fatal(error, plan.model):
        if summary.fatal is None:
            summary.fatal = error
        stop.stop_sending()
    if reply is None:
        writer.add(make_result(item, model=plan.model, latency_ms=outcome.latency_ms, error=error))
        return
    if plan.store is not None:
        _save(plan.store, item, plan.model, reply)
    writer.add(
        make_result(
            item,
            model=reply.model,
            answer=reply.content,
            finish_reason=reply.finish_reason,
            usage=reply.usage,
            latency_ms=outcome.latency_ms,
        )
    )


def _is_fatal(error: DialError, model: str) -> bool:
    """Errors every other item would meet too: a refused key, an unknown deployment."""
    return (isinstance(error, AuthError) and error.status == 401) or (
        isinstance(error, NotFoundError) and repr(model) in error.message
    )


def _save(store: Store, item: Item, model: str, reply: Any) -> None:
    """--save: each answered item becomes a conversation of its own."""
    from dialcli.conversation import Conversation, Message, Role
    from dialcli.templating import as_text

    messages = item.messages or []
    system = None
    if messages and messages[0].get("role") == "system":
        system = as_text(messages[0].get("content"))
        messages = messages[1:]
    conversation = Conversation(model=model, system=system, extra={"batch_item": item.id})
    for message in messages:
        role = message.get("role")
        if role in ("user", "assistant"):
            conversation.add(
                Role(role),
                as_text(message.get("content") or ""),
                custom_content=message.get("custom_content"),
            )
    conversation.messages.append(
        Message(
            Role.ASSISTANT,
            reply.content,
            usage=reply.usage,
            custom_content=reply.custom_content,
            model=model,
        )
    )
    store.create(conversation)


async def _finish(tasks: set[asyncio.Task[None]], stop: _Stop) -> None:
    """Wait for the items in flight; after a stop, only GRACE_SECONDS (or until a hard one)."""
    started = set(tasks)
    if started:
        # return_exceptions: a cancelled item must not cancel the wait for the others.
        everything = asyncio.gather(*started, return_exceptions=True)
        if not await _first(everything, stop.soft, None):
            await _first(everything, stop.hard, GRACE_SECONDS)
        for task in started:
            task.cancel()  # those still running after the grace (a no-op for the rest)
        await everything
    for task in started:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]  # a bug: never swallowed


async def _first(work: asyncio.Future[Any], event: asyncio.Event, timeout: float | None) -> bool:
    """Wait for ``work`` unless ``event`` comes first (or the timeout); True if it is done."""
    if work.done():
        return True
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({work, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    return work.done()


async def _take(gate: asyncio.Semaphore, stop: _Stop) -> bool:
    """Acquire ``gate`` unless a stop comes first."""
    if not gate.locked():
        await gate.acquire()  # free: returns at once
        return True
    return bool(await _unless_stopped(gate.acquire(), stop))


async def _unless_stopped(awaitable: Any, stop: _Stop) -> Any:
    """``awaitable``'s result, or None if a stop came first."""
    work = asyncio.ensure_future(awaitable)
    halt = asyncio.ensure_future(stop.soft.wait())
    await asyncio.wait({work, halt}, return_when=asyncio.FIRST_COMPLETED)
    halt.cancel()
    if work.done():
        return work.result()
    work.cancel()
    return None


async def _tick(progress: Progress) -> None:
    while True:
        progress.draw()
        await asyncio.sleep(PROGRESS_EVERY)


def _install_signals(loop: asyncio.AbstractEventLoop, stop: _Stop) -> list[tuple[int, Any]]:
    """Ctrl-C and SIGTERM as stop requests (the main thread only: signals arrive there).

    Returns the handlers they replace, to be put back when the batch is over.
    """
    if threading.current_thread() is not threading.main_thread():
        return []
    installed: list[tuple[int, Any]] = []
    for sig, handler in ((signal.SIGINT, stop.interrupt), (signal.SIGTERM, stop.terminate)):
        installed.append((sig, signal.getsignal(sig)))
        loop.add_signal_handler(sig, handler)
    return installed
