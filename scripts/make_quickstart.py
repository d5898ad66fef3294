"""Writes notebooks/01-quickstart.ipynb, executes it with the demo model and records it.

The answers come from the real default model (Gemma 3 270M in the kernel); the
recording in notebooks/recordings/01-quickstart.jsonl lets CI replay them under nbval.
"""

from nbformat.v4 import new_code_cell, new_markdown_cell
from notebook_tools import build

cells = [
    new_markdown_cell(
        "# nbstream quickstart\n\n"
        "nbstream streams a language model's answer into the cell's output, token by token, "
        "rendered as Markdown. This notebook uses the bundled demo model — Gemma 3 270M, "
        "running *inside this kernel* on your CPU — so it needs no server and no key.\n\n"
        "The demo is a small **base** model: it continues text rather than answering "
        "questions, so the prompts below are beginnings of texts."
    ),
    new_markdown_cell("Load the extension once per kernel. It adds the `%%llm` cell magic."),
    new_code_cell("%load_ext nbstream"),
    new_markdown_cell(
        "A cell that starts with `%%llm` sends its body to the model. With no model named, "
        "the default is used (here the demo). `-n` caps the answer's length, `--seed` makes "
        "it repeatable on one machine and build. The line under the answer shows "
        "model · tokens · tokens per second · time to the first token."
    ),
    new_code_cell(
        "%%llm -n 60 --seed 1\nThe three most useful Python libraries for data science are"
    ),
    new_markdown_cell(
        "`{name}` in the prompt is replaced by a variable from the notebook (nothing else "
        "with braces is touched). `-o NAME` keeps the answer as a `Response` object."
    ),
    new_code_cell('topic = "the ocean at night"'),
    new_code_cell("%%llm -n 40 --seed 2 -o poem\nA short poem about {topic}:\n"),
    new_code_cell("poem.status, poem.usage.completion_tokens"),
    new_markdown_cell("The last answer is always in `_llm`, whatever cell produced it."),
    new_code_cell("print(_llm.text[:120])"),
    new_markdown_cell(
        "The same from Python: `nbstream.generate()` streams into the cell and returns the "
        "`Response`; `nbstream.stream()` gives the pieces without displaying anything."
    ),
    new_code_cell(
        'import nbstream\n\nr = nbstream.generate("Water boils at", max_tokens=20, temperature=0)'
    ),
    new_code_cell(
        'pieces = [chunk.text for chunk in nbstream.stream("One, two, three,", '
        "max_tokens=8, temperature=0)]\npieces"
    ),
    new_markdown_cell(
        "**Stopping.** Press the stop button (interrupt the kernel) while an answer streams: "
        "it ends within half a second, the text so far stays, and "
        '`_llm.status == "interrupted"`.\n\n'
        "**Other models.** Name any backend in the cell: `%%llm ollama:llama3.2`, "
        "`%%llm openai:gpt-4o-mini`, `%%llm llama:/path/to/model.gguf`. "
        "See the README for every option."
    ),
]

if __name__ == "__main__":
    print(build("01-quickstart", cells))
