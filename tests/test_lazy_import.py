"""``import nbstream`` and ``%%llm`` leave the widget stack unimported until the chat is used.

anywidget brings in ipywidgets, comm and psygnal (about a tenth of a second, and a comm
layer a plain script or a ``%%llm`` cell never uses), so ``nbstream.Chat`` and
``nbstream.chat`` are imported on first use. Each check runs in a fresh interpreter,
since this test process has imported them long ago.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from .servers.scripted import Script, ScriptedServer, chat_delta, sse

WIDGET_PACKAGES = ("anywidget", "comm", "ipywidgets", "psygnal")

PRELUDE = f"""
import json, sys

def widget_packages():
    return sorted({{m.partition(".")[0] for m in sys.modules}} & set({WIDGET_PACKAGES!r}))

def show(value):
    print("@@", json.dumps(value))
"""


def run_python(code: str, *args: str) -> list[object]:
    """Run ``code`` in a fresh interpreter; return the values it passed to ``show()``."""
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line[3:]) for line in done.stdout.splitlines() if line.startswith("@@ ")]


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    answer = sse(chat_delta(role="assistant"), chat_delta("Hi there"), chat_delta(finish="stop"))
    with ScriptedServer(Script(body=answer)) as running:
        yield running


def test_import_nbstream_leaves_the_widget_stack_until_the_chat_is_used() -> None:
    shown = run_python(
        """
import nbstream
show(widget_packages())
show(sorted(name for name in nbstream.__all__ if name in dir(nbstream)))
chat = nbstream.chat
show([widget_packages(), callable(chat), nbstream.Chat.__name__])
"""
    )
    assert shown[0] == []
    assert shown[1] == sorted(__import__("nbstream").__all__)  # dir() lists them already
    assert shown[2] == [list(WIDGET_PACKAGES), True, "Chat"]


def test_nbstream_chat_stays_the_function_whichever_import_comes_first() -> None:
    # Importing the subpackage sets it as an attribute of its parent: the function must
    # still be what nbstream.chat means afterwards.
    shown = run_python(
        """
from nbstream.chat import Chat
import nbstream.chat
import nbstream
show([type(nbstream.chat).__name__, nbstream.Chat is Chat])
"""
    )
    assert shown == [["function", True]]


def test_load_ext_and_a_llm_cell_leave_the_widget_stack(server: ScriptedServer) -> None:
    shown = run_python(
        """
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

config = Config()
config.HistoryManager.enabled = False
shell = InteractiveShell.instance(config=config)
shell.run_line_magic("load_ext", "nbstream")
result = shell.run_cell("%%llm openai:m --base-url " + sys.argv[1] + " -o answer\\nSay hi")
result.raise_error()
show([shell.user_ns["answer"].text, widget_packages()])
""",
        server.url + "/v1",
    )
    assert shown == [["Hi there", []]]
    assert server.last.json()["messages"] == [{"role": "user", "content": "Say hi"}]
