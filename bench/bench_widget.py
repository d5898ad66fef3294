"""Bytes and messages on the wire for a 4,000-token answer in a chat widget.

Two widgets see the same answer:

* ``nbstream.chat()`` — coalesced ``delta`` custom messages (only the new text, at most
  ~20 a second), then the finished message once, in the ``turns`` trait;
* a naive widget that keeps the answer in a synced text trait and sets it after every
  token — what a first attempt usually does; each update carries the whole text again.

Every comm message either widget publishes is serialized exactly as ipykernel sends it
(a ``jupyter_client`` Session message: header, parent, metadata, content), and the sizes
are summed. Two sources: the tiny generated model at full speed (thousands of tok/s) and
the scripted OpenAI-compatible server paced at 400 tok/s (so coalescing has something to
do). Run: ``python bench/bench_widget.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anywidget
import comm
from comm.base_comm import BaseComm
from jupyter_client.session import Session
from traitlets import Unicode

import nbstream
from tests.servers.scripted import Script, ScriptedServer, sse
from tests.tinymodel import write_tiny_model

TOKENS = 4_000
SESSION = Session(key=b"bench")


class CountingComm(BaseComm):
    """Serializes each message the way the kernel would and counts it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.messages = 0
        self.bytes = 0
        super().__init__(*args, **kwargs)

    def publish_msg(
        self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None, **_: Any
    ) -> None:
        if msg_type != "comm_msg":
            return
        msg = SESSION.msg(msg_type, {"comm_id": self.comm_id, "data": data}, metadata=metadata)
        self.messages += 1
        self.bytes += sum(len(frame) for frame in SESSION.serialize(msg))


class NaiveChat(anywidget.AnyWidget):
    _esm = "export default { render() {} };"
    answer = Unicode("").tag(sync=True)


def measure_nbstream(model: str, **options: Any) -> tuple[CountingComm, str, float]:
    chat = nbstream.chat(model, **options)
    wire: CountingComm = chat.widget.comm
    wire.messages = wire.bytes = 0
    started = time.perf_counter()
    chat.send("Hello world")
    response = chat.wait(600)
    assert response is not None and response.status == "done", response
    return wire, response.text, time.perf_counter() - started


def measure_naive(pieces: list[str]) -> CountingComm:
    widget = NaiveChat()
    wire: CountingComm = widget.comm
    wire.messages = wire.bytes = 0
    text = ""
    for piece in pieces:
        text += piece
        widget.answer = text
    return wire


def report(label: str, ours: CountingComm, naive: CountingComm, chars: int, seconds: float) -> None:
    print(f"{label}: {chars:,} characters in {seconds:.1f} s")
    print(f"  nbstream.chat  {ours.messages:>6,} messages {ours.bytes:>12,} bytes")
    print(f"  text trait     {naive.messages:>6,} messages {naive.bytes:>12,} bytes")
    print(f"  ratio          {naive.bytes / ours.bytes:>6.0f}× fewer bytes with deltas")


def main() -> None:
    comm.create_comm = CountingComm
    with tempfile.TemporaryDirectory() as folder:
        model = write_tiny_model(Path(folder) / "tiny.gguf")
        spec = f"llama:{model}"
        # Collect the exact pieces once, for the naive widget.
        pieces = [
            c.text
            for c in nbstream.stream("Hello world", model=spec, temperature=0, max_tokens=TOKENS)
        ]
        ours, text, seconds = measure_nbstream(spec, temperature=0, max_tokens=TOKENS)
        assert text == "".join(pieces)
        report("tiny model, full speed", ours, measure_naive(pieces), len(text), seconds)

    words = [f"w{i % 100} " for i in range(TOKENS)]
    body: list[Any] = []
    for event in sse(*({"choices": [{"delta": {"content": w}}]} for w in words), done=False):
        body += [event, 1 / 400]
    body.append(b"data: [DONE]\n\n")
    with ScriptedServer(Script(body=body)) as server:
        ours, text, seconds = measure_nbstream("openai:bench", base_url=server.url + "/v1")
    report("OpenAI-compatible server at 400 tok/s", ours, measure_naive(words), len(text), seconds)


if __name__ == "__main__":
    main()
