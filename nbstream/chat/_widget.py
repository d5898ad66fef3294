"""``nbstream.chat()``: a conversation widget that streams, stops and survives a reload.

:class:`Chat` is a plain object that owns its widget (:class:`ChatWidget`, an anywidget)
rather than being one: ``Chat.send(text)`` asks a question, while the widget keeps
ipywidgets' own ``send(content, buffers)``, the comm message it means there, and the
rest of ipywidgets' API (``close``, ``observe``, layouts) stays on ``chat.widget``.
Displaying the chat displays its widget.

State lives in the widget's synced traits (``turns``: the finished messages, ``busy``,
``model``), so a re-render or a second view shows the conversation; commands travel as
custom messages (``send``, ``stop``, ``reset``, ``model``, ``hello``), the same ones
whether they come from the buttons or from ``chat.send()`` / ``chat.stop()`` in Python.
Each answer runs on its own worker thread (:mod:`._generation`) and streams to this
widget's own comm, never to whichever cell runs now, as coalesced deltas.

One answer at a time: a send while an answer streams is refused (``UsageError`` from
Python, a one-line notice in the widget) rather than queued, so two answers can never
interleave and nothing is sent that the user cannot see coming.

What the saved notebook shows: see :mod:`._transcript` — the widget is followed by
a Markdown transcript display that is replaced each time an answer ends.

``chat.messages`` is what the model is sent next time: user and assistant turns (the
system prompt is kept apart in ``chat.system``), with ``images`` on a turn that carried
some (``chat.send(text, images=[fig])``, or pasted or dropped into the input box: the
browser sends each file's bytes as a buffer of the ``send`` message). The images stay in
the kernel, by hash; the synced turns carry what the widget shows (a data-URI thumbnail
and a placeholder line), and the saved transcript only the placeholder. An exchange
that failed stays on screen, marked, but is left out, so the next question never
follows an unanswered one; an answer stopped with text is kept, since the user saw it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import anywidget
from traitlets import Bool, Dict, Int, List, Unicode, observe, validate

from .._bundle import short_model, status_line
from .._exceptions import UsageError
from .._images import from_bytes, to_image
from .._request import Model, Settings, resolve, split_keywords
from .._response import Response
from .._specs import DEFAULT_REGISTRY, function_name
from .._types import Image, Message
from ._generation import Generation
from ._transcript import (
    TRANSCRIPT_MIME_TYPE,
    chat_repr,
    image_turn,
    transcript_markdown,
    transcript_payload,
    transcript_plain,
)

STATIC = Path(__file__).parent.parent / "static"
BUSY = "The chat is still answering; press Stop (chat.stop()) or wait for it (chat.wait())."


class ChatWidget(anywidget.AnyWidget):
    """The chat's state in the browser: synced traits, and the script that shows them."""

    _esm = STATIC / "chat.js"
    _css = STATIC / "chat.css"

    model = Unicode("", help="The model spec the next answer uses.").tag(sync=True)
    model_label = Unicode("").tag(sync=True)
    turns = List(Dict(), help="Finished messages, with status and stats.").tag(sync=True)
    busy = Bool(False).tag(sync=True)
    generation = Int(0).tag(sync=True)
    notice = Unicode("").tag(sync=True)

    @validate("model")
    def _check_model(self, proposal: Any) -> str:
        value = str(proposal["value"]).strip()
        resolve(value or None)  # raises UsageError with the fix (an alias's options too)
        return value

    @observe("model")
    def _label_model(self, change: Any) -> None:
        self.model_label = short_model(DEFAULT_REGISTRY.resolve(change["new"] or None).spec)

    def __repr__(self) -> str:
        return chat_repr(self.model, self.turns, self.busy)


class Chat:
    """The chat; create it with :func:`chat`. ``chat.widget`` is its widget."""

    def __init__(
        self,
        model: Model = None,
        system: str | None = None,
        *,
        messages: Iterable[Mapping[str, Any] | Message] = (),
        max_rate: float = 20.0,
        **options: Any,
    ) -> None:
        self._lock = threading.RLock()
        self._running: Generation | None = None
        self._count = 0
        self._max_rate = max_rate
        self.options: dict[str, Any] = options
        self.system: str = system or ""
        self._transcript_id = uuid.uuid4().hex
        self._displayed = False
        self.last_response: Response | None = None
        # A function given as the model, under its spec (py:NAME) in the widget.
        self._function: tuple[str, Callable[..., Any]] | None = None
        # The default's name, not its expansion: an alias keeps its options.
        spec = DEFAULT_REGISTRY.default_spec() if model is None else self._spec_of(model)
        self._images: dict[str, Image] = {}  # by hash: the turns carry only what is shown
        turns = [self._turn_of(m) for m in messages]
        self.widget = ChatWidget(model=spec, turns=turns)
        self.widget.on_msg(self._on_message)

    @property
    def model(self) -> str:
        """The model spec the next answer uses; set it to switch (an alias keeps its options).

        A function may be set too (``chat.model = my_pipeline``): the spec reads
        ``py:my_pipeline`` and the next answers call that very function.
        """
        return str(self.widget.model)

    @model.setter
    def model(self, spec: Model) -> None:
        self.widget.model = self._spec_of(spec)

    def _spec_of(self, model: Model) -> str:
        if callable(model):
            spec = f"py:{function_name(model)}"
            self._function = (spec, model)
            return spec
        return model or ""

    # -- Python API: what the buttons do ----------------------------------------------

    def send(self, text: str, images: Iterable[Any] = ()) -> None:
        """Ask ``text``; the answer streams into the widget (``wait()`` blocks for it).

        ``images`` go with the question: matplotlib figures, PIL images, IPython
        ``Image`` objects or image outputs (see :func:`nbstream._images.to_image`).
        """
        pictures = _images_of(images)
        if not isinstance(text, str) or not (text.strip() or pictures):
            raise UsageError("Nothing to send: write a question, e.g. chat.send('Hello').")
        with self._lock:
            if self._running is not None:
                raise UsageError(BUSY)
            settings = self._settings()
            history = [
                Message(m["role"], m["content"], tuple(m.get("images", ()))) for m in self.messages
            ]
            request = settings.request(text, history=history, images=pictures)
            self._count += 1
            generation = Generation(
                self._count,
                request,
                self._custom,
                max_rate=self._max_rate,
                record=settings.record,
            )
            self._running = generation
            widget = self.widget
            with widget.hold_sync():
                widget.turns = [*widget.turns, self._user_turn(text, pictures)]
                widget.generation = generation.number
                widget.notice = ""
                widget.busy = True
        worker = threading.Thread(
            target=self._work, args=(generation,), name="nbstream-chat", daemon=True
        )
        worker.start()

    def _user_turn(self, text: str, pictures: tuple[Image, ...]) -> dict[str, Any]:
        """The user's turn as the widget shows it; the images themselves are kept here."""
        turn: dict[str, Any] = {"role": "user", "content": text}
        if pictures:
            for picture in pictures:
                self._images[picture.sha256] = picture
            turn["images"] = [image_turn(picture) for picture in pictures]
        return turn

    def _settings(self) -> Settings:
        """What the next send asks for: the model (an alias with its options), then
        ``system`` and ``options``, which override the alias's own."""
        given, backend_options = split_keywords(self.options)
        if self.system:
            given["system"] = self.system
        model: Model = self.model or None
        if self._function is not None and self._function[0] == self.model:
            model = self._function[1]
        return resolve(model, given, options=backend_options)

    def stop(self) -> None:
        """Stop the answer now; what arrived stays, marked stopped. Does not wait."""
        with self._lock:
            running = self._running
        if running is not None:
            running.cancel.request()

    def wait(self, timeout: float | None = None) -> Response | None:
        """Block until the current answer ends; return it (the last one if none runs).

        A kernel interrupt while waiting stops the answer, then propagates.
        """
        with self._lock:
            running = self._running
        if running is None:
            return self.last_response
        try:
            if not running.done.wait(timeout):
                raise TimeoutError(f"the answer did not end within {timeout} s")
        except KeyboardInterrupt:
            running.cancel.request()
            running.done.wait(5)
            raise
        return running.response

    def reset(self) -> None:
        """Start over: stop any answer and forget the conversation."""
        with self._lock:
            running, self._running = self._running, None
            if running is not None:
                running.cancel.request()
            widget = self.widget
            with widget.hold_sync():
                widget.turns = []
                widget.notice = ""
                widget.busy = False
        self._publish_transcript()

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The history the model is sent next: ``[{"role", "content"}, …]``.

        A message that carried images also has ``"images"``: a tuple of
        :class:`~nbstream._types.Image` (bytes, mime, pixels).
        """
        messages: list[dict[str, Any]] = []
        for turn in self.widget.turns:
            if not turn.get("in_history", True):
                continue
            message: dict[str, Any] = {"role": turn["role"], "content": turn["content"]}
            if turn.get("images"):
                message["images"] = tuple(self._images[i["sha256"]] for i in turn["images"])
            messages.append(message)
        return messages

    def _turn_of(self, message: Mapping[str, Any] | Message) -> dict[str, Any]:
        role: Any
        content: Any
        images: Any
        if isinstance(message, Message):
            role, content, images = message.role, message.content, message.images
        else:
            role, content = message.get("role"), message.get("content")
            images = message.get("images") or ()
        if role not in ("user", "assistant") or not isinstance(content, str):
            raise UsageError(
                "Each message must be {'role': 'user' or 'assistant', 'content': text}; "
                "pass the system prompt as system=."
            )
        if role == "user":
            return self._user_turn(content, _images_of(images))
        return {"role": role, "content": content}

    # -- the worker ---------------------------------------------------------------------

    def _work(self, generation: Generation) -> None:
        response = generation.answer()
        with self._lock:
            if generation is self._running:
                self._running = None
                self.last_response = response
                kept = response.status != "error" and bool(response.text)
                widget = self.widget
                turns = [dict(t) for t in widget.turns]
                if not kept and turns and turns[-1]["role"] == "user":
                    turns[-1]["in_history"] = False
                turns.append(_answer_turn(response, kept))
                with widget.hold_sync():
                    widget.turns = turns
                    widget.busy = False
                self._publish_transcript()
        generation.done.set()

    def _custom(self, message: dict[str, Any]) -> None:
        self.widget.send(message)

    # -- messages from the front end ----------------------------------------------------

    def _on_message(self, _widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        try:
            if kind == "send":
                pasted = _pasted(content.get("images"), buffers)
                self.send(str(content.get("text", "")), images=pasted)
            elif kind == "stop":
                self.stop()
            elif kind == "reset":
                self.reset()
            elif kind == "model":
                self.model = str(content.get("model", "")).strip()
            elif kind == "hello":
                with self._lock:
                    running = self._running
                if running is not None:
                    running.send_snapshot()
        except UsageError as exc:
            self.widget.notice = exc.message

    # -- display ------------------------------------------------------------------------

    def __repr__(self) -> str:
        return repr(self.widget)

    def _transcript_bundle(self) -> dict[str, Any]:
        model, turns = self.model, self.widget.turns
        return {
            TRANSCRIPT_MIME_TYPE: transcript_payload(model, turns),
            "text/markdown": transcript_markdown(model, turns),
            "text/plain": transcript_plain(model, turns),
        }

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The widget's view (IPython prefers :meth:`_ipython_display_`, which adds the
        transcript under it)."""
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        data, metadata = self._repr_mimebundle_() or ({}, {})
        display(data, metadata=metadata, raw=True)  # type: ignore[no-untyped-call]
        display(self._transcript_bundle(), raw=True, display_id=self._transcript_id)  # type: ignore[no-untyped-call]
        self._displayed = True

    def _publish_transcript(self) -> None:
        if not self._displayed:
            return
        from IPython.display import update_display

        update_display(self._transcript_bundle(), raw=True, display_id=self._transcript_id)  # type: ignore[no-untyped-call]


def chat(model: Model = None, system: str | None = None, **options: Any) -> Chat:
    """A chat widget: ``chat = nbstream.chat(model="ollama:llama3.2", system="Be terse.")``.

    Show it by ending a cell with ``chat``. ``model`` is a spec like ``%%llm``'s (default:
    the notebook's default model) or a Python function that answers the messages
    (``py:NAME`` names one in the notebook); an alias's options apply, and ``system`` and the
    keyword arguments override them. Keyword arguments: ``messages`` (a history to start
    from), ``temperature``, ``max_tokens``, ``seed``, ``stop``, ``raw``, ``base_url``,
    ``api_key_env``, ``timeout``, ``record``; anything else is passed to the backend as
    an option. They are kept in ``chat.options`` (a dict), which later sends read: change
    it freely.
    """
    return Chat(model, system, **options)


def _images_of(values: Iterable[Any]) -> tuple[Image, ...]:
    """Each value as an :class:`Image`, or one sentence naming the first that is not one."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        values = [values]
    pictures: list[Image] = []
    for number, value in enumerate(values, 1):
        picture = to_image(value)
        if picture is None:
            raise UsageError(
                f"Image {number} is a {type(value).__name__}, not an image; chat.send(images=…) "
                "takes matplotlib figures, PIL images, IPython Image objects or image outputs."
            )
        pictures.append(picture)
    return tuple(pictures)


def _pasted(described: Any, buffers: Any) -> tuple[Image, ...]:
    """Images pasted or dropped into the input: one buffer each, described in order
    (the bytes, not the browser's type, decide what each is)."""
    kinds = described if isinstance(described, list) else []
    buffers = list(buffers or ())
    if len(kinds) != len(buffers):
        raise UsageError("The pasted images did not all arrive; paste them again.")
    return tuple(from_bytes(bytes(buffer)) for buffer in buffers)


def _answer_turn(response: Response, kept: bool) -> dict[str, Any]:
    turn: dict[str, Any] = {
        "role": "assistant",
        "content": response.text,
        "status": response.status,
        "stats": status_line(response),
    }
    if response.reasoning:
        turn["reasoning"] = response.reasoning
    if response.error:
        turn["error"] = response.error
    if not kept:
        turn["in_history"] = False
    return turn
