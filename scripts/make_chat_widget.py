"""Writes notebooks/03-chat-widget.ipynb, executes it with the demo model, records it.

Every cell's text output but the widget's is independent of timing: the widget cell shows
a stable repr and the transcript, which is replaced as answers end, so the saved notebook
shows the conversation the notebook leaves (its last state, after a Stop whose length
depends on timing) while nbval compares the first display: that cell is tagged
``nbval-ignore-output``. The Stop cell waits long enough into a 400-token answer that it
is always stopped with text.
"""

from notebook_tools import build, code, why

cells = [
    why(
        "# The chat widget\n\n"
        "`nbstream.chat()` is a conversation in a widget: type a question, press Enter, and "
        "the answer streams in as Markdown with a live status line (tokens, tok/s, time to "
        "first token). **Stop** ends an answer at once and keeps what came; other cells keep "
        "running while it streams. It works in JupyterLab 4, Notebook 7 and VS Code.\n\n"
        "This notebook uses the default model, the bundled demo model (Gemma 3 270M, a *base* "
        "model: it continues text rather than answering questions). Name any spec instead, "
        'e.g. `nbstream.chat("ollama:llama3.2", system="Be terse.")`.'
    ),
    code(
        "import nbstream\n\nchat = nbstream.chat(temperature=0, max_tokens=40)\nchat",
        "nbval-ignore-output",
    ),
    why(
        "Under the widget is a transcript of the conversation, replaced each time an answer "
        "ends. While the widget is live it is hidden; reopened without a kernel, JupyterLab "
        "and Notebook 7 show it rendered like the chat in place of the widget, and GitHub and "
        "nbconvert show its Markdown copy (links only http(s), images as links).\n\n"
        "Type in the box above, or do from Python what the buttons do: `send()` returns at "
        "once (the answer streams in the background) and `wait()` blocks until it ends and "
        "returns the `Response`."
    ),
    code(
        'chat.send("The capital of France is")\n'
        "response = chat.wait()\n"
        "response.status, response.usage.completion_tokens"
    ),
    why(
        "`chat.messages` is the history the model gets with the next question, as a list of "
        '`{"role", "content"}` — ready for `nbstream.generate(..., history=chat.messages)` '
        "or any chat API. The system prompt is kept apart, in `chat.system`."
    ),
    code('[m["role"] for m in chat.messages]'),
    code('print(chat.messages[-1]["content"])'),
    why(
        "The history works wherever a conversation is accepted — here it continues the chat "
        "in a cell of its own, streamed the way `%%llm` streams:"
    ),
    code(
        'answer = nbstream.generate("And the capital of Italy is", history=chat.messages, '
        "max_tokens=20, temperature=0)"
    ),
    why(
        "**Stop.** The Stop button (or `chat.stop()`) ends the answer within half a second for "
        "every backend — the HTTP connection is closed, the llama.cpp loop ends — and the "
        "partial answer stays, marked stopped. While an answer streams, another send is "
        "refused: stop it or wait for it first. `chat.options` holds the sampling options "
        "the next send uses."
    ),
    code(
        "import time\n\n"
        "chat.reset()  # start over: a base model continues a bare prompt best\n"
        'chat.options["max_tokens"] = 400\n'
        'chat.send("1, 2, 3, 4, 5, 6, 7, 8,")\n'
        "time.sleep(1.5)\n"
        "chat.stop()\n"
        "stopped = chat.wait()\n"
        'stopped.status, stopped.text.startswith(" 9, 10")'
    ),
    why(
        "A stopped answer with text stays in the history (you saw it); a failed one is shown "
        "in place, in one sentence, and left out, so the next question never follows an "
        "unanswered one."
    ),
    code('[m["role"] for m in chat.messages]'),
    why(
        'Switch model with `chat.model = "SPEC"` (or click the model name in the widget); '
        "start over with `chat.reset()` (or **New chat**). This notebook leaves its "
        "conversation as it is, so the saved file shows it under the widget."
    ),
]

if __name__ == "__main__":
    print(build("03-chat-widget", cells))
