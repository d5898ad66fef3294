"""The Python API — ``generate()`` and ``stream()`` — and the live run both it and the magic use.

``show_live`` is the whole user-visible pipeline in one place: a :class:`Stream` over the
backend, a :class:`LiveOutput` that renders snapshots of it, and the rule for how a run
ends: the final bundle is always shown, and the run reports its :class:`Outcome` — the
:class:`Response` with the partial text, how it ended, and the error that ending calls
for (one line; a kernel interrupt becomes :class:`Interrupted`, which stops "Run All"
like Ctrl-C does). It raises nothing and writes nothing into the notebook: the entry
points (``%%llm``, ``generate()``) keep ``_llm`` (and ``-o NAME``) and then raise.

Every generation is opened through :func:`nbstream.recording.route`, the one place where
replay (``replay:`` specs, ``$NBSTREAM_REPLAY``) and recording (``record=``,
``$NBSTREAM_RECORD``) apply. An instant replay has no live phase
(``LiveOutput(live=False)``): its final bundle is the first and only display, which is
what a saved notebook holds and what nbval (which ignores ``update_display_data``)
compares. Requests are built by :mod:`._request`, the same way for the magic, these
functions and the chat widget.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from . import _widgetwire, _wire
from ._bundle import LiveBundle
from ._exceptions import Interrupted, NbstreamError
from ._live import Bundle, LiveOutput, Publisher
from ._request import Model, Settings, metadata_params, resolve, show_request, split_keywords
from ._response import Response
from ._stream import Stream
from ._types import Cancel, Request
from .backends.python import close_source
from .recording import route


def open_stream(
    request: Request,
    *,
    cancel: Cancel | None = None,
    on_chunk: Callable[[], object] | None = None,
    record: str | None = None,
) -> Stream:
    """The :class:`Stream` for ``request``: replayed when a recording applies, else live.

    ``record`` (else ``$NBSTREAM_RECORD``) appends the exchange to that file when the
    stream ends. A replayed exchange goes only to a ``record`` file it is not replayed
    from (see :mod:`nbstream.recording`).
    """
    return route(request, record).open(cancel=cancel, on_chunk=on_chunk)


@dataclass(frozen=True)
class Outcome:
    """How a live run ended: the answer (partial if cut short) and what to raise, if anything."""

    response: Response
    ending: Literal["done", "interrupted", "error"]  # interrupted: a Stop or a kernel interrupt
    error: NbstreamError | Interrupted | None = None  # carries ``response`` too


def show_live(
    request: Request,
    *,
    fmt: str = "markdown",
    params: dict[str, Any] | None = None,
    publisher: Publisher | None = None,
    max_rate: float = 20.0,
    cancel: Cancel | None = None,
    record: str | None = None,
) -> Outcome:
    """Stream ``request`` into a live output; return how it ended (the caller raises)."""

    bundle = LiveBundle(fmt=fmt, params=params)

    def render() -> Bundle:
        return bundle(generation.snapshot())

    routed = route(request, record)
    if not routed.instant:
        # Deltas where nbstream's front end or a widget host listens, else sparse bundles.
        publisher = publisher or _widgetwire.live_publisher()
    # The render closure reads `generation`, which exists by the time anything calls it.
    live = LiveOutput(render, publisher, max_rate=max_rate, live=not routed.instant)
    generation = routed.open(cancel=cancel, on_chunk=live.changed)
    live.start()
    interrupted = False
    try:
        generation.drive()  # the live output reads snapshots: no chunk handed out
    except KeyboardInterrupt:
        interrupted = True
    except NbstreamError:
        pass
    finally:
        live.stop()
        _wire.finish(publisher)  # the final bundle, if the publisher held it back
    response = generation.snapshot()
    if interrupted or response.status == "interrupted":
        stop = Interrupted(
            f"Generation stopped after {response.tokens} tokens; "
            "the partial answer stays above and in _llm."
            if response.tokens
            else "Generation stopped before the first token; run the cell again when ready.",
            response=response,
        )
        return Outcome(response, "interrupted", stop)
    error = generation.error
    if error is not None:
        error.response = response
        return Outcome(response, "error", error)
    return Outcome(response, "done")


def _remember(response: Response) -> None:
    shell = _shell()
    if shell is not None:
        shell.user_ns["_llm"] = response


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    return get_ipython()


def _settings(model: Model, keywords: dict[str, Any]) -> tuple[Settings, Any]:
    """The settings and the history for ``generate()`` / ``stream()``'s arguments."""
    history = keywords.pop("history", ())
    given, backend_options = split_keywords(keywords)
    return resolve(model, given, options=backend_options), history


def generate(prompt: str, model: Model = None, **kwargs: Any) -> Response:
    """Stream an answer live into the current cell and return it as a :class:`Response`.

    ``model`` is a spec or an alias, as in ``%%llm`` (default: the notebook's default
    model), or a Python function (see :mod:`nbstream.backends.python`); an alias's
    options apply, and keyword arguments override them. Keyword
    arguments: ``system``, ``history`` (list of ``{"role", "content"}``),
    ``raw``, ``temperature``, ``max_tokens``, ``seed``, ``stop``, ``base_url``,
    ``api_key_env``, ``timeout``, ``format`` (markdown, text, code), ``record`` (append
    the exchange to this recording); anything else is passed to the backend as an
    option. Outside IPython the text is printed as it comes.
    """
    settings, history = _settings(model, kwargs)
    request = settings.request(prompt, history=history)
    if _shell() is None:
        return _print_live(request, settings.record)
    outcome = show_live(
        request, fmt=settings.format, params=metadata_params(request), record=settings.record
    )
    _remember(outcome.response)
    if outcome.error is not None:
        raise outcome.error
    return outcome.response


def _print_live(request: Request, record: str | None) -> Response:
    generation = open_stream(request, record=record)
    try:
        for chunk in generation:
            if chunk.text:
                sys.stdout.write(chunk.text)
                sys.stdout.flush()
    finally:
        sys.stdout.write("\n")
    return generation.snapshot()


def stream(prompt: str, model: Model = None, **kwargs: Any) -> Stream:
    """Iterate over the answer's chunks with no display (``chunk.text`` is the new text).

    Takes the same keyword arguments as :func:`generate`; after iterating,
    ``.snapshot()`` gives the :class:`Response`. Errors raise from the loop.
    """
    settings, history = _settings(model, kwargs)
    return open_stream(settings.request(prompt, history=history), record=settings.record)


def show(source: object, *, model: str | None = None, record: str | None = None) -> Response:
    """Show a stream the user already holds live in the cell, as ``%%llm`` shows an answer.

    ``source`` is a sync or async iterable of chunks of any shape nbstream recognises
    (``str``, OpenAI, Anthropic, Ollama, llama-cpp-python, LangChain; see
    :mod:`nbstream._shapes`), or a coroutine of one. ``model`` is the name the status
    line shows (``py:NAME``; default ``py:stream``) and, with the call's place among this
    kernel's ``show()`` calls of that name, what a recording matches it by. ``record``
    (else ``$NBSTREAM_RECORD``) appends the exchange to a recording; under a replay the
    recorded answer is shown and ``source`` is closed unread.

    Returns the :class:`Response` (also in ``_llm``). A Stop or kernel interrupt closes the
    source and raises :class:`Interrupted`; an exception from the source raises a
    :class:`~nbstream.StreamError` naming it, chained to it (``__cause__``).
    """
    request = show_request(source, model)
    try:
        if _shell() is None:
            return _print_live(request, record)
        outcome = show_live(request, params=metadata_params(request), record=record)
    finally:
        close_source(source)  # already closed when it was read; a replay never reads it
    _remember(outcome.response)
    if outcome.error is not None:
        raise outcome.error
    return outcome.response
