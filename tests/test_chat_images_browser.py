"""Images pasted or dropped into the chat's input box, in JupyterLab in Chromium.

The pictures are real PNG files made by PIL, put on a real ``DataTransfer`` and handed
to the input box as a paste and as a drop, the events a browser fires when a user pastes
a screenshot or drags a file. The server (the scripted one on 127.0.0.1) records the
request, so the test decodes what it received; then the notebook is saved and reopened
with no kernel, and the conversation must show the images as placeholder lines, with no
picture saved or loaded.

Screenshots go to ``$NBSTREAM_ARTIFACTS/chat-images`` (default ``artifacts/chat-images``).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image as PILImage

from .lab import (
    LabServer,
    open_notebook,
    run_cell,
    save,
    screenshot,
    shutdown_kernels,
    wait_for_idle,
    write_notebook,
)
from .servers.scripted import ScriptedServer, answer

CHAT = ".nbstream-chat:not(.nbstream-chat-transcript)"

# Puts one PNG file on a DataTransfer and fires `kind` (paste or drop) at the input box.
GIVE = """([kind, data]) => {
  const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], 'picture.png', { type: 'image/png' }));
  const box = document.querySelector('CHAT .nbstream-chat-input');
  const event = kind === 'paste'
    ? new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true })
    : new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true });
  box.dispatchEvent(event);
  return event.defaultPrevented;
}""".replace("CHAT", CHAT)


def png(width: int, height: int, color: str) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(answer("Two ", "squares.")) as running:
        yield running


def give(page: Any, kind: str, data: bytes) -> bool:
    return bool(page.evaluate(GIVE, [kind, base64.b64encode(data).decode()]))


def test_pasted_and_dropped_images_reach_the_server_and_are_saved_as_placeholders(
    lab_server: LabServer, page: Any, server: ScriptedServer
) -> None:
    write_notebook(
        lab_server.root / "images.ipynb",
        [
            "import nbstream\n"
            f"chat = nbstream.chat('openai:vision', base_url='{server.url}/v1')\n"
            "chat"
        ],
    )
    open_notebook(page, lab_server, "images.ipynb")
    run_cell(page, 0)
    wait_for_idle(page)
    widget = page.locator(CHAT).first
    widget.locator(".nbstream-chat-input").wait_for()

    red, blue, green = png(40, 30, "red"), png(20, 10, "blue"), png(8, 8, "green")
    assert give(page, "paste", red), "the paste was not taken as an image"
    assert give(page, "drop", blue), "the drop was not taken as an image"
    assert give(page, "paste", green)
    waiting = widget.locator(".nbstream-chat-attachment")
    assert waiting.count() == 3
    # × removes an image before it is sent.
    waiting.nth(2).locator(".nbstream-chat-unattach").click()
    assert waiting.count() == 2
    screenshot(page, "1-attached", folder="chat-images")

    box = widget.locator(".nbstream-chat-input")
    box.fill("What colours are these?")
    box.press("Enter")
    request = server.wait_for_request(timeout=15)
    parts = request.json()["messages"][-1]["content"]
    assert parts[0] == {"type": "text", "text": "What colours are these?"}
    sent = []
    for part in parts[1:]:
        head, _, payload = part["image_url"]["url"].partition(",")
        picture = PILImage.open(io.BytesIO(base64.b64decode(payload)))
        sent.append((head, picture.format, picture.size, picture.getpixel((0, 0))))
    assert sent == [
        ("data:image/png;base64", "PNG", (40, 30), (255, 0, 0)),
        ("data:image/png;base64", "PNG", (20, 10), (0, 0, 255)),
    ]

    # The user's turn shows both as thumbnails (inline pictures that loaded).
    page.wait_for_selector(f"{CHAT} .nbstream-chat-msg[data-status='done']")
    thumbs = widget.locator(".nbstream-chat-user .nbstream-chat-thumb")
    assert thumbs.count() == 2
    sizes = thumbs.evaluate_all("els => els.map(e => [e.naturalWidth, e.naturalHeight])")
    assert sizes == [[40, 30], [20, 10]]
    assert all(src.startswith("data:image/png;base64,") for src in thumbs.evaluate_all(
        "els => els.map(e => e.src)"
    ))  # fmt: skip
    assert widget.locator(".nbstream-chat-attachment").count() == 0
    screenshot(page, "2-sent", folder="chat-images")

    save(page)
    saved = (lab_server.root / "images.ipynb").read_text()
    outputs = json.loads(saved)["cells"][0]["outputs"]
    markdown = "".join(outputs[1]["data"]["text/markdown"])
    assert f"*[image: PNG, 40×30 px, {len(red):,} bytes]*" in markdown
    assert f"*[image: PNG, 20×10 px, {len(blue):,} bytes]*" in markdown
    assert "base64" not in saved and base64.b64encode(red).decode()[:40] not in saved

    shutdown_kernels(lab_server)
    open_notebook(page, lab_server, "images.ipynb", kernel=False)
    transcript = page.locator(".nbstream-chat-transcript").first
    transcript.wait_for()
    labels = transcript.locator(".nbstream-chat-image-label").all_inner_texts()
    assert labels == [
        f"[image: PNG, 40×30 px, {len(red):,} bytes]",
        f"[image: PNG, 20×10 px, {len(blue):,} bytes]",
    ]
    assert transcript.locator("img").count() == 0
    screenshot(page, "3-reopened", folder="chat-images")
