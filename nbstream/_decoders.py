"""Incremental decoders for streamed bytes: UTF-8, lines, server-sent events, NDJSON.

They are sans-I/O on purpose: each one is fed whatever bytes the network delivered with
``decode()`` and told the stream ended with ``flush()``, so the sync and async backends
share one parser and the tests can split a recorded stream at every byte.

Three details decide the shape:

* Lines end only at ``\\r\\n``, ``\\r`` or ``\\n``. ``str.splitlines()`` (and so httpx's
  ``iter_lines()``) also splits on U+2028, U+2029, U+0085 and friends, which are legal
  raw characters inside a JSON string and do occur in model output. Splitting happens on
  *bytes*, where ``bytes.splitlines()`` knows only the three ASCII line ends.
* A whole run of complete lines is decoded with one ``bytes.decode()`` call. That is safe
  because ``\\r`` and ``\\n`` never occur inside a UTF-8 multibyte sequence, so the lines
  and their U+FFFD replacements come out exactly as if each line were decoded alone.
* The hot path stays in C: each feed is searched once (``rfind`` for its last line
  end), the unfinished tail waits in a ``bytearray``, and nothing already seen is
  scanned again, so the cost is linear in the stream, whatever the chunk sizes.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nbstream._exceptions import MalformedStreamError

DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
_BOM = "\ufeff"


class UTF8Decoder:
    """Incremental UTF-8: a character split across feeds comes out whole.

    Invalid bytes become U+FFFD exactly as ``bytes.decode("utf-8", "replace")`` of the
    whole stream would have it, so a bad byte never stalls or ends a stream.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        # The codec's own bound method: no wrapper call per token (the llama.cpp loop
        # decodes every token through this).
        self.decode: Callable[[bytes], str] = self._decoder.decode

    def flush(self) -> str:
        """Return what is left: an incomplete sequence at the very end becomes U+FFFD."""
        return self._decoder.decode(b"", final=True)


class LineDecoder:
    """Bytes -> complete lines, splitting only on ``\\r\\n``, ``\\r`` and ``\\n``.

    A ``\\r`` that ends one feed and a ``\\n`` that starts the next are one line break.
    Lines are decoded as UTF-8 with invalid bytes replaced by U+FFFD. A line longer than
    ``max_line_bytes`` raises :class:`MalformedStreamError` instead of growing without end.
    """

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self._buffer = bytearray()
        self._after_cr = False

    def decode(self, data: bytes) -> list[str]:
        if self._after_cr and data:
            self._after_cr = False
            if data[0] == 0x0A:  # the \n of a \r\n split between two feeds
                data = data[1:]
        end = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
        if end == 0:
            self._buffer += data
            if len(self._buffer) > self.max_line_bytes:
                self._too_long()
            return []
        if self._buffer:
            complete = bytes(self._buffer) + data[:end]
            self._buffer = bytearray(data[end:])
        else:
            complete = data[:end]
            self._buffer += data[end:]
        # Only a \r that ends the feed can pair with a \n at the start of the next one.
        self._after_cr = end == len(data) and data[-1] == 0x0D
        if len(complete) > self.max_line_bytes and (
            max(map(len, complete.splitlines())) > self.max_line_bytes
        ):
            self._too_long()
        if len(self._buffer) > self.max_line_bytes:
            self._too_long()
        text = complete.decode("utf-8", "replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        lines.pop()  # ``complete`` ends with a line break, so the last piece is empty
        return lines

    def flush(self) -> list[str]:
        """Return the unterminated last line, if any, and reset."""
        tail, self._buffer, self._after_cr = bytes(self._buffer), bytearray(), False
        return [tail.decode("utf-8", "replace")] if tail else []

    def _too_long(self) -> None:
        self._buffer = bytearray()  # do not keep megabytes alive behind a raised error
        raise MalformedStreamError(
            f"The server sent a line longer than {self.max_line_bytes:,} bytes without a "
            "line break; check that the URL points at a streaming chat API."
        )


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched server-sent event; ``id`` is the last event ID seen so far."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Server-sent events, parsed as the WHATWG HTML standard says (section 9.2.6).

    One leading byte-order mark is dropped, ``:`` lines are comments, ``data:`` lines are
    joined with ``\\n``, an event with no ``data`` is not dispatched, and an event the
    stream ends in the middle of is discarded (unless ``flush(dispatch=True)``).
    ``retry`` is reported on the event it came with; nbstream never reconnects, so it is
    information only.

    ``event_fields`` names fields the standard ignores that a server uses as a whole event:
    llama.cpp's server (before late 2025) wrote a streamed error as ``error: {json}``
    instead of ``event: error`` + ``data: {json}``. A line ``NAME: value`` with NAME in
    ``event_fields`` reads as both of those, so the event reaches the caller.
    """

    def __init__(
        self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, *, event_fields: tuple[str, ...] = ()
    ) -> None:
        self._lines = LineDecoder(max_line_bytes)
        self._event_fields = frozenset(event_fields)
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._last_event_id: str | None = None
        self._retry: int | None = None

    def decode(self, data: bytes) -> list[ServerSentEvent]:
        return self._read(self._lines.decode(data))

    def flush(self, *, dispatch: bool = False) -> list[ServerSentEvent]:
        """End of stream, and reset: an event without its closing blank line is discarded.

        That is the standard's rule, for a stream that may be resumed. With ``dispatch``
        the body's end closes the last event instead, as if the blank line had come: for
        a response that is all there will be (the OpenAI backend's case, where servers
        end the body right after the last event).
        """
        lines = self._lines.flush()
        events = self._read([*lines, ""]) if dispatch else []
        self._started = False
        self._event = ""
        self._data = []
        self._retry = None
        return events

    def _read(self, lines: list[str]) -> list[ServerSentEvent]:
        if not lines:
            return []
        if not self._started:
            self._started = True
            if lines[0].startswith(_BOM):
                lines[0] = lines[0][1:]
        events: list[ServerSentEvent] = []
        for line in lines:
            if not line:
                if self._data:
                    events.append(
                        ServerSentEvent(
                            self._event or "message",
                            "\n".join(self._data),
                            self._last_event_id,
                            self._retry,
                        )
                    )
                    self._data = []
                self._event = ""
                self._retry = None
                continue
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id":
                if "\0" not in value:
                    self._last_event_id = value
            elif name == "retry" and value.isascii() and value.isdigit():
                self._retry = int(value)
            elif name in self._event_fields:
                self._event = name
                self._data.append(value)
            # Anything else, comments (empty name) included, is ignored.
        return events


BadLine = Callable[[str, bool], MalformedStreamError]
"""Words a bad NDJSON line's error: ``(the line, whether good values came before it)``."""


class NDJSONDecoder:
    """One JSON value per line, as Ollama streams. Blank lines are skipped.

    The last line is parsed at ``flush()`` even without a final newline, because servers
    omit it. A line that is not JSON (with ``objects``: not a JSON object) raises
    :class:`MalformedStreamError` quoting its start — but only after the good lines
    before it have been returned: the values from the same read come back first, and the
    error is raised by the next ``decode``/``flush``, so no answer text that arrived
    intact is lost. ``bad_line`` lets the caller word that error (the Ollama backend
    names its URL, and tells a wrong address from a stream that broke).
    """

    def __init__(
        self,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        *,
        objects: bool = False,
        bad_line: BadLine | None = None,
    ) -> None:
        self._lines = LineDecoder(max_line_bytes)
        self._objects = objects
        self._bad_line = bad_line or self._default_bad_line
        self._started = False
        self._seen_value = False
        self._pending: MalformedStreamError | None = None

    def decode(self, data: bytes) -> list[Any]:
        self._raise_pending()
        return self._parse(self._lines.decode(data))

    def flush(self) -> list[Any]:
        self._raise_pending()
        values = self._parse(self._lines.flush())
        if not values:
            self._raise_pending()
        self._started = self._seen_value = False
        return values

    def _raise_pending(self) -> None:
        if self._pending is not None:
            error, self._pending = self._pending, None
            raise error

    def _default_bad_line(self, line: str, after_good: bool) -> MalformedStreamError:
        snippet = line[:80] + ("…" if len(line) > 80 else "")
        what = "a JSON object" if self._objects else "JSON"
        return MalformedStreamError(
            f"The server sent a line that is not {what} ({snippet!r}); check that the "
            "URL points at an Ollama-compatible API."
        )

    def _parse(self, lines: list[str]) -> list[Any]:
        if not lines:
            return []
        if not self._started:
            self._started = True
            if lines[0].startswith(_BOM):  # json.loads refuses a byte-order mark
                lines[0] = lines[0][1:]
        values: list[Any] = []
        for line in lines:
            if not line or line.isspace():
                continue
            try:
                value = json.loads(line)
            except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
                value = _NOT_JSON
            if value is _NOT_JSON or (self._objects and not isinstance(value, dict)):
                error = self._bad_line(line, self._seen_value)
                if not values:
                    raise error from None
                self._pending = error
                break
            values.append(value)
            self._seen_value = True
        return values


_NOT_JSON = object()


__all__ = [
    "BadLine",
    "LineDecoder",
    "NDJSONDecoder",
    "SSEDecoder",
    "ServerSentEvent",
    "UTF8Decoder",
]
