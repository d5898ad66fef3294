"""Images in prompts: what becomes an image, and that it really reaches the server.

Every value here is real: matplotlib draws the figures (Agg), PIL makes the pictures and
decodes what a server received, so a test sees the pixels a vision model would get.
Requests go to a local server that records bodies (tests/servers/scripted.py) or to the
Ollama stand-in, whose image field is checked against the official ``ollama`` client's;
recordings are written and replayed through the same door as every generation.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import ollama
import pytest
from IPython.display import Image as IPythonImage
from PIL import Image as PILImage

from nbstream import _images
from nbstream._exceptions import HTTPStatusError, NbstreamError, UsageError
from nbstream._generate import open_stream
from nbstream._types import Endpoint, Image, Message, Request
from nbstream.backends.llamacpp import BACKEND as LLAMA
from nbstream.backends.ollama import BACKEND as OLLAMA
from nbstream.backends.openai import BACKEND as OPENAI

from .kernel import Kernel
from .servers.ollama_fake import OllamaFake
from .servers.scripted import Script, ScriptedServer, answer


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OLLAMA_HOST", "NBSTREAM_REPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("NBSTREAM_RECORD", raising=False)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(answer("A rising line.")) as running:
        yield running


@pytest.fixture
def figure() -> Iterator[Any]:
    fig, ax = plt.subplots(figsize=(10, 8), dpi=100)
    ax.plot([1, 3, 2, 5])
    yield fig
    plt.close(fig)


def decoded(data: bytes) -> PILImage.Image:
    picture = PILImage.open(io.BytesIO(data))
    picture.load()
    return picture


def png(width: int, height: int, color: str = "red") -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def asking(backend: str, url: str, *images: Image, raw: bool = False) -> Request:
    return Request(
        backend=backend,
        model="vision-model",
        messages=(Message("user", "What does this plot show?", images),),
        prompt="What does this plot show?",
        raw=raw,
        endpoint=Endpoint(base_url=url),
    )


# --- what is an image ----------------------------------------------------------------


def test_a_figure_is_a_png_of_its_own_size_and_the_same_bytes_each_time(figure: Any) -> None:
    image = _images.to_image(figure)
    assert image is not None
    assert (image.mime, image.width, image.height) == ("image/png", 1000, 800)
    assert decoded(image.data).format == "PNG"
    assert decoded(image.data).size == (1000, 800)
    # No "Software" tag, so the hash a recording keeps is the same on every run.
    assert b"Software" not in image.data
    again = _images.to_image(figure)
    assert again is not None and again.sha256 == image.sha256
    # The axes a plot call returns (what Out[n] holds after df.plot()) is its figure.
    axes = _images.to_image(figure.axes[0])
    assert axes is not None and axes.sha256 == image.sha256


def test_pil_images_ipython_images_and_image_outputs() -> None:
    cmyk = _images.to_image(PILImage.new("CMYK", (30, 20)))
    assert cmyk is not None and (cmyk.mime, cmyk.width, cmyk.height) == ("image/png", 30, 20)
    assert decoded(cmyk.data).size == (30, 20)

    jpeg = io.BytesIO()
    PILImage.new("RGB", (33, 44), "blue").save(jpeg, format="JPEG")
    shown = _images.to_image(IPythonImage(data=jpeg.getvalue()))
    assert shown is not None
    assert (shown.mime, shown.width, shown.height) == ("image/jpeg", 33, 44)
    assert shown.data == jpeg.getvalue()  # sent as it is, not re-encoded

    class Plot:  # any object that draws itself, as IPython would show it
        def _repr_png_(self) -> str:
            return base64.b64encode(png(7, 5)).decode()

    output = _images.to_image(Plot())
    assert output is not None and (output.width, output.height) == (7, 5)
    assert _images.to_image("a string") is None
    assert _images.to_image(42) is None
    assert _images.to_image({"a": 1}) is None


def test_a_url_only_ipython_image_is_refused_and_never_fetched(server: ScriptedServer) -> None:
    linked = IPythonImage(url=f"{server.url.replace('//', '//user:pw@')}/plot.png")
    with pytest.raises(UsageError) as info:
        _images.to_image(linked)
    message = str(info.value)
    assert message.startswith("This IPython Image only links to its picture")
    assert "does not fetch URLs" in message
    assert "pw" not in message  # the address is shown without its credentials
    assert server.requests == []


def test_telling_types_apart_imports_neither_matplotlib_nor_pil() -> None:
    code = (
        "import sys\nfrom nbstream._images import to_image\n"
        "assert to_image('text') is None and to_image(3) is None\n"
        "print(sorted({'matplotlib', 'PIL'} & {m.partition('.')[0] for m in sys.modules}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- OpenAI-compatible: image_url parts with a data URI -----------------------------


def test_openai_sends_text_and_image_url_parts_that_decode_to_the_figure(
    server: ScriptedServer, figure: Any
) -> None:
    image = _images.to_image(figure)
    assert image is not None
    chunks = list(OPENAI.stream(asking("openai", server.url + "/v1", image)))
    assert "".join(c.text for c in chunks) == "A rising line."
    sent = server.last.json()["messages"]
    assert len(sent) == 1 and sent[0]["role"] == "user"
    text, picture = sent[0]["content"]
    assert text == {"type": "text", "text": "What does this plot show?"}
    assert picture["type"] == "image_url"
    url = picture["image_url"]["url"]
    head, _, payload = url.partition(",")
    assert head == "data:image/png;base64"
    received = decoded(base64.b64decode(payload))
    assert (received.format, received.size) == ("PNG", (1000, 800))
    assert base64.b64decode(payload) == image.data


def test_a_message_without_images_keeps_string_content(server: ScriptedServer) -> None:
    list(OPENAI.stream(asking("openai", server.url + "/v1")))
    assert server.last.json()["messages"][0]["content"] == "What does this plot show?"


def test_a_server_that_rejects_the_image_gives_one_sentence(server: ScriptedServer) -> None:
    body = json.dumps({"error": {"message": "image input is not supported", "code": 400}})
    server.respond = Script(
        status=400, headers=(("Content-Type", "application/json"),), body=[body.encode()]
    )
    image = Image(png(64, 48), "image/png", 64, 48)
    with pytest.raises(HTTPStatusError) as info:
        list(OPENAI.stream(asking("openai", server.url + "/v1", image)))
    message = str(info.value)
    assert info.value.status_code == 400
    assert "answered HTTP 400 Bad Request (image input is not supported)" in message
    assert "which carried an image" in message and "vision model" in message
    assert image.base64[:40] not in message
    assert message.count(". ") == 0 and message.endswith(".")


# --- Ollama: images beside the text, as the official client sends them --------------


def test_ollama_sends_images_exactly_as_the_official_client_does(figure: Any) -> None:
    image = _images.to_image(figure)
    assert image is not None
    with OllamaFake() as fake:
        with ollama.Client(host=fake.url) as client:
            client.chat(
                model="tiny:latest",
                messages=[
                    {"role": "user", "content": "What does this plot show?", "images": [image.data]}
                ],
            )
        official = fake.requests[-1].json()["messages"]
        request = dataclasses.replace(asking("ollama", fake.url, image), model="tiny:latest")
        chunks = list(OLLAMA.stream(request))
        ours = fake.requests[-1].json()["messages"]
    assert chunks and chunks[-1].finish_reason == "stop"
    assert ours == official
    received = decoded(base64.b64decode(ours[0]["images"][0]))
    assert (received.format, received.size) == ("PNG", (1000, 800))


# --- where images cannot go: one sentence, nothing sent ------------------------------


def test_raw_with_an_image_is_one_sentence_and_nothing_is_sent(server: ScriptedServer) -> None:
    image = Image(png(4, 3))
    for backend in (OPENAI, OLLAMA):
        with pytest.raises(UsageError) as info:
            list(backend.stream(asking(backend.name, server.url, image, raw=True)))
        assert str(info.value) == (
            "This prompt carries an image, but --raw completes plain text with no chat "
            "messages to carry it; leave out --raw to send it as a chat message, or take "
            "the image out of the prompt."
        )
    assert server.requests == []


def test_the_in_kernel_model_says_it_cannot_see_images(tiny_model: Path) -> None:
    two = (Image(png(4, 3)), Image(png(5, 3)))
    request = Request(
        backend="llama", model=str(tiny_model), messages=(Message("user", "Look", two),)
    )
    for attempt in (lambda: list(LLAMA.stream(request)), lambda: LLAMA.describe(request)):
        with pytest.raises(UsageError) as info:
            attempt()
        assert str(info.value).startswith(
            "This prompt carries 2 images, but the in-kernel llama: backend reads text only; "
            "send it to a vision model through openai:"
        )
    # Without images the same model answers: the sentence is about the images only.
    plain = dataclasses.replace(request, messages=(Message("user", "Look"),), max_tokens=2)
    assert list(LLAMA.stream(plain))


# --- --dry-run shows placeholders ----------------------------------------------------


def test_dry_run_shows_each_image_as_a_placeholder(shell: Any, figure: Any) -> None:
    shell.ipython.user_ns["request"] = asking(
        "openai", "http://127.0.0.1:9/v1", _images.to_image(figure), _images.from_bytes(png(3, 2))
    )
    done = shell.run("get_ipython().magics_manager.registry['LLMMagics']._show_dry_run(request)")
    assert done.status == "ok", done.errors
    text = done.displays[0]["content"]["data"]["text/markdown"]
    size = len(_images.to_image(figure).data)  # type: ignore[union-attr]
    figure_label = f"[image: PNG, 1000×800 px, {size:,} bytes]"
    assert text.count(figure_label) == 2  # in the messages and in the request body
    assert text.count(f"[image: PNG, 3×2 px, {len(png(3, 2))} bytes]") == 2
    assert "base64" not in text and "iVBOR" not in text


# --- recordings: by hash, never bytes ------------------------------------------------


def test_recordings_keep_hashes_and_replay_matches_by_hash(
    server: ScriptedServer, figure: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = tmp_path / "answers.jsonl"
    image = _images.to_image(figure)
    assert image is not None
    request = asking("openai", server.url + "/v1", image)
    assert open_stream(request, record=str(recording)).response().text == "A rising line."
    line = recording.read_text()
    assert image.base64[:60] not in line and "base64" not in line
    kept = json.loads(line)["request"]["messages"][0]["images"]
    assert kept == [
        {"sha256": image.sha256, "bytes": len(image.data), "mime": "image/png", "width": 1000,
         "height": 800}
    ]  # fmt: skip

    monkeypatch.setenv("NBSTREAM_REPLAY", str(recording))
    # The same figure drawn again: same bytes, same hash, replayed with no server.
    again = _images.to_image(figure)
    assert again is not None
    replayed = open_stream(asking("openai", "http://127.0.0.1:9/v1", again)).response()
    assert replayed.text == "A rising line." and len(server.requests) == 1
    # Another picture with the same text is not that exchange.
    with pytest.raises(NbstreamError) as info:
        open_stream(asking("openai", "http://127.0.0.1:9/v1", Image(png(4, 3))))
    assert "which differs in messages" in str(info.value)
    assert "(+1 image, matched by hash)" in str(info.value)


# --- in a real kernel ----------------------------------------------------------------


@pytest.mark.kernel
def test_in_a_kernel_a_figure_and_a_pasted_image_reach_the_server(server: ScriptedServer) -> None:
    server.play(answer("A line."), answer("A square."))
    kernel = Kernel()
    try:
        setup = kernel.run(
            "import matplotlib.pyplot as plt, nbstream\n"
            "fig, ax = plt.subplots(figsize=(10, 8), dpi=100); ax.plot([1, 2])\n"
            f"chat = nbstream.chat('openai:m', base_url='{server.url}/v1')\n"
            "chat.send('What does this show?', images=[fig]); r = chat.wait(15)\n"
            "print(r.status)"
        )
        assert setup.status == "ok", setup.errors
        assert setup.stdout.strip().splitlines()[-1] == "done"
        url = server.requests[0].json()["messages"][0]["content"][1]["image_url"]["url"]
        head, _, payload = url.partition(",")
        assert head == "data:image/png;base64"
        assert decoded(base64.b64decode(payload)).size == (1000, 800)

        # The browser's send: the pasted file's bytes as a buffer of the comm message.
        comm_id = kernel.value("chat.widget.comm.comm_id")
        pasted = png(12, 9, "green")
        content = {
            "comm_id": comm_id,
            "data": {
                "method": "custom",
                "content": {"type": "send", "text": "And this?", "images": [{"mime": "image/png"}]},
            },
        }
        message = kernel.client.session.msg("comm_msg", content)
        message["buffers"] = [pasted]
        kernel.client.shell_channel.send(message)
        second = server.wait_for_request(2)
        parts = second.json()["messages"][-1]["content"]
        assert parts[0] == {"type": "text", "text": "And this?"}
        pasted_url = parts[1]["image_url"]["url"]
        assert base64.b64decode(pasted_url.partition(",")[2]) == pasted
        roles = (
            "[chat.wait(15).status, [(m['role'], len(m.get('images', ()))) for m in chat.messages]]"
        )
        assert kernel.value(roles) == [
            "done",
            [["user", 1], ["assistant", 0], ["user", 1], ["assistant", 0]],
        ]
    finally:
        kernel.shutdown()
