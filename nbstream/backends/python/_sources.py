"""Reading what the user handed over: in the right thread, stopped in time, always closed.

Where the user's code runs decides how a stop reaches it:

* A synchronous iterable read in the main thread (a ``%%llm`` cell, ``generate()``,
  ``show()``, a ``stream()`` loop) is iterated right there, with nothing in between (the
  fast path). A kernel interrupt — which is also what the cell's Stop button sends —
  raises ``KeyboardInterrupt`` inside the user's own code, even in a function blocked in
  ``time.sleep`` or a socket read; in case a finalizer swallows that exception,
  :func:`~._sigint.watching` notes the interrupt and the next item ends the stream.
* An async iterable (and a coroutine) runs on a private event loop in a thread of its
  own: the kernel's loop is already running the cell, so it cannot be used to wait.
  Each item is fetched as one task; waiting for it ends at once on an interrupt or a
  :class:`~nbstream._types.Cancel`, and the pending task is cancelled.
* Off the main thread (the chat's worker), where no interrupt can reach, a synchronous
  source is read on a thread of its own, one item at a time, so a Stop ends the wait at
  once even when the user's code blocks.

However it ends, what the user handed over is closed: ``close()`` on a generator and on
the object passed in (an ``openai`` or ``ollama`` stream closes its HTTP response),
``aclose()`` on async ones, in the thread or loop that runs it; a source still blocked
in the user's code is closed as soon as it returns. An exception raised by the user's
code ends the answer as a :class:`~nbstream.StreamError` whose message names it in one
line (``ValueError: …``) and whose ``__cause__`` is the exception itself, traceback and
all (``%tb`` shows it, see :mod:`nbstream._exceptions`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import os
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..._exceptions import NbstreamError, StreamError, UsageError
from ..._shapes import ShapeReader, UnknownChunkError
from ..._types import Cancel, Chunk
from .._sigint import watching

ACCEPTS = "a str, an iterable or an async iterable of chunks, or a coroutine of one"
CLOSE_WAIT = 1.0  # seconds to wait for an async source's aclose() on the private loop
_END = object()


class Stopped(Exception):
    """A :class:`Cancel` ended the wait for the user's code."""


# Frames of the machinery that ran the user's code, left out of its traceback (for %tb).
_MACHINERY = (
    os.path.dirname(os.path.dirname(os.path.dirname(__file__))) + os.sep,  # nbstream
    os.path.dirname(asyncio.__file__) + os.sep,
    os.path.dirname(concurrent.futures.__file__) + os.sep,
)


def user_error(exc: BaseException, name: str) -> StreamError:
    """The one-line error for an exception raised by the user's code (chain it to ``exc``).

    The exception's traceback is made to start at the user's code: the frames that ran
    it (nbstream's loop, a thread pool, the private event loop) are left out.
    """
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_MACHINERY):
        tb = tb.tb_next
    if tb is not None:
        exc.__traceback__ = tb
    text = str(exc).strip().splitlines()
    what = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    error = StreamError(
        f"{what} (raised by {name}; the text so far is kept, %tb shows where it was raised)."
    )
    error.__cause__ = exc
    error.user_code = True
    return error


def read(source: Any, steps: Steps, cancel: Cancel, name: str) -> Iterator[Chunk | str]:
    """The chunks of ``source`` (a plain ``str`` for text only), closed however the reading ends.

    Not a generator itself: it returns the reader whose loop is the only frame between
    the user's code and the :class:`~nbstream.Stream` (each frame costs every chunk).
    """
    if inspect.isawaitable(source):
        source = await_result(source, cancel, name)
    kind = _kind(source)
    if kind == "text":
        return iter((source,) if source else ())
    if kind == "bytes":
        raise UsageError(
            f"{name} gave bytes, not text; decode them (data.decode()) or pass {ACCEPTS}."
        )
    if kind == "async":
        return _read_async(source, cancel, name)
    if kind == "none":
        what = "None" if source is None else f"a {type(source).__name__}"
        raise UsageError(f"{name} gave {what}, which is not a stream; pass {ACCEPTS}.")
    if isinstance(steps, Here):
        return _read_here(source, name)
    return _read_aside(source, steps, cancel, name)


def reader_now(source: Any, name: str) -> Generator[Chunk | str, None, None] | None:
    """The reader :func:`read` would give ``source`` in this thread, if it is the fast path
    (:func:`_read_here`: a plain synchronous iterable, in the main thread), else None.

    Getting it runs none of the user's code and raises nothing, so a backend can hand it
    to the :class:`~nbstream.Stream` as it is, with no frame of its own around it.
    """
    if (
        threading.current_thread() is threading.main_thread()
        and not inspect.isawaitable(source)
        and _kind(source) == "sync"
    ):
        return _read_here(source, name)
    return None


def _kind(source: Any) -> str:
    """What :func:`read` makes of an object that is not awaitable: text, bytes, an async
    or a sync iterable, or none of them."""
    if isinstance(source, str):
        return "text"
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "bytes"
    if hasattr(source, "__aiter__"):
        return "async"
    if hasattr(source, "__iter__"):
        return "sync"
    return "none"


def _chunk_of(reader: ShapeReader, item: object) -> Chunk | None:
    try:
        return reader.read(item)
    except UnknownChunkError as exc:
        raise UsageError(str(exc)) from None


def _read_here(source: Any, name: str) -> Generator[Chunk | str, None, None]:
    """The fast path: iterate in this (the main) thread, where interrupts reach the user's code.

    A plain ``str`` item is passed on as it is, no chunk built (see
    :meth:`~nbstream.Stream.drive`): one type test is all this loop adds to a
    generator of strings.
    """
    read = ShapeReader().read
    interrupted: list[bool] = []
    iterator = None
    try:
        with watching(lambda: interrupted.append(True)):
            iterator = iter(source)
            for item in iterator:
                if interrupted:  # the KeyboardInterrupt was lost in a finalizer
                    raise KeyboardInterrupt
                if type(item) is str:
                    if item:
                        yield item
                    continue
                chunk = read(item)
                if chunk is not None:
                    yield chunk
    except UnknownChunkError as exc:
        raise UsageError(str(exc)) from None
    except NbstreamError:
        raise
    except Exception as exc:
        raise user_error(exc, name) from exc
    finally:
        _close(iterator, source)


def _read_aside(source: Any, steps: Steps, cancel: Cancel, name: str) -> Iterator[Chunk]:
    """Off the main thread: each item is fetched on the source's own thread."""
    reader = ShapeReader()
    iterator = steps.run(lambda: iter(source), cancel, name)
    try:
        while True:
            item = steps.run(lambda: next(iterator, _END), cancel, name)
            if item is _END:
                return
            chunk = _chunk_of(reader, item)
            if chunk is not None:
                yield chunk
    finally:
        # On the source's thread, after the step still running (if any) returns.
        steps.after(lambda: _close(iterator, source))


def _read_async(source: Any, cancel: Cancel, name: str) -> Iterator[Chunk]:
    """An async iterable, each item fetched as one task on the private event loop."""
    loop = _private_loop()
    reader = ShapeReader()
    running: list[asyncio.Task[Any]] = []  # the task fetching the item now, if any
    iterator = None
    try:
        iterator = source.__aiter__()

        async def step() -> Any:
            task = asyncio.current_task()
            assert task is not None
            running[:] = [task]
            try:
                return await iterator.__anext__()
            except StopAsyncIteration:
                return _END

        while True:
            item = _wait(asyncio.run_coroutine_threadsafe(step(), loop), cancel, name)
            if item is _END:
                return
            chunk = _chunk_of(reader, item)
            if chunk is not None:
                yield chunk
    except (Stopped, NbstreamError):
        raise
    except Exception as exc:
        raise user_error(exc, name) from exc
    finally:
        closing = asyncio.run_coroutine_threadsafe(_aclose(running, iterator, source), loop)
        with contextlib.suppress(Exception):
            closing.result(CLOSE_WAIT)


async def _aclose(running: list[Any], iterator: Any, source: Any) -> None:
    """Cancel the pending fetch, let it unwind, then close the iterator and the source."""
    for task in running:
        if not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=CLOSE_WAIT / 2)
    for thing in _both(iterator, source):
        close = getattr(thing, "aclose", None) or getattr(thing, "close", None)
        if close is None:
            continue
        with contextlib.suppress(Exception):
            result = close()
            if inspect.isawaitable(result):
                await result


def _both(iterator: Any, source: Any) -> list[Any]:
    """The iterator and the source, each once (by identity: a list is not hashable)."""
    things = [iterator] if iterator is not None else []
    if source is not None and source is not iterator:
        things.append(source)
    return things


def _close(iterator: Any, source: Any) -> None:
    """``close()`` what the user handed over (the generator, then the object itself)."""
    for thing in _both(iterator, source):
        close = getattr(thing, "close", None)
        if close is None:
            continue
        # Best effort: the stream's own ending (or the user's error) is what is reported.
        with contextlib.suppress(Exception):
            result = close()
            if inspect.isawaitable(result):  # an async object's close(): run it properly
                _run_soon(result)


def close_source(source: Any) -> None:
    """Close a source that may never have been read (a replayed ``show()``)."""
    if hasattr(source, "__aiter__") or hasattr(source, "aclose"):
        closing = asyncio.run_coroutine_threadsafe(_aclose([], None, source), _private_loop())
        with contextlib.suppress(Exception):
            closing.result(CLOSE_WAIT)
    elif not isinstance(source, str):
        _close(None, source)  # a coroutine never awaited is closed too (no warning)


# -- waiting for the user's code ---------------------------------------------------------


def _wait(future: Future[Any], cancel: Cancel, name: str) -> Any:
    """The future's result; ends at once on a Stop (:class:`Stopped`) or an interrupt."""
    if not future.done():
        ready = threading.Event()
        future.add_done_callback(lambda _: ready.set())
        remove = cancel.on_request(ready.set)
        try:
            ready.wait()  # a lock wait: a kernel interrupt in the main thread ends it
        except BaseException:
            future.cancel()
            raise
        finally:
            remove()
        if not future.done():
            future.cancel()
            raise Stopped
    error = future.exception()
    if error is None:
        return future.result()
    if isinstance(error, (NbstreamError, Stopped)):
        raise error
    raise user_error(error, name) from error


def await_result(awaitable: Any, cancel: Cancel, name: str) -> Any:
    """Run a coroutine (or any awaitable) on the private loop and wait for its value."""

    async def run() -> Any:
        return await awaitable

    return _wait(asyncio.run_coroutine_threadsafe(run(), _private_loop()), cancel, name)


def _run_soon(awaitable: Any) -> None:
    async def run() -> None:
        with contextlib.suppress(Exception):
            await awaitable

    asyncio.run_coroutine_threadsafe(run(), _private_loop())


_LOOP_LOCK = threading.Lock()
_LOOP: Any = None


def _private_loop() -> Any:
    """nbstream's own event loop, on a daemon thread started on first use (one per process)."""
    global _LOOP
    with _LOOP_LOCK:
        if _LOOP is None:
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="nbstream-async-source", daemon=True
            ).start()
            _LOOP = loop
        return _LOOP


class Steps:
    """Where the user's synchronous code runs: ``run(step)`` returns its value."""

    def run(self, step: Callable[[], Any], cancel: Cancel, name: str) -> Any:
        raise NotImplementedError

    def after(self, step: Callable[[], object]) -> None:
        raise NotImplementedError

    def shutdown(self) -> None:
        """Nothing more will be run."""


class Here(Steps):
    """In this thread: interrupts reach the user's code directly."""

    def run(self, step: Callable[[], Any], cancel: Cancel, name: str) -> Any:
        try:
            return step()
        except NbstreamError:
            raise
        except Exception as exc:
            raise user_error(exc, name) from exc

    def after(self, step: Callable[[], object]) -> None:
        step()


class Aside(Steps):
    """On a thread of the source's own, one step at a time: a Stop never waits for it."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None

    def _submit(self, step: Callable[[], Any]) -> Future[Any]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="nbstream-source")
        return self._pool.submit(step)

    def run(self, step: Callable[[], Any], cancel: Cancel, name: str) -> Any:
        return _wait(self._submit(step), cancel, name)

    def after(self, step: Callable[[], object]) -> None:
        self._submit(step)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
