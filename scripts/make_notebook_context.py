"""Writes notebooks/06-notebook-context.ipynb, executes it with the demo model, records it.

The answers come from the demo model in the kernel. The ``--dry-run`` cells name an Ollama
spec with an explicit address, so what they show (the expanded prompt, a figure's
placeholder, the size estimate) is the same on every machine that draws the same figure.
The demo model reads no images, so the cell that sends it the figure shows the one
sentence a user gets from a model that cannot take them.
"""

from notebook_tools import build, code, why

DRY = "%%llm ollama:llama3.2 --base-url localhost:11434 --dry-run"

DATA = """\
import numpy as np
import pandas as pd

rng = np.random.default_rng(7)
rows = 2_000_000
df = pd.DataFrame({
    "day": pd.date_range("2024-01-01", periods=rows, freq="min"),
    "region": rng.choice(["north", "south", "east", "west"], rows),
    "units": rng.integers(1, 20, rows),
    "price": rng.normal(9.5, 1.5, rows).round(2),
})
df.shape"""

FUNCTION = """\
def weekly_units(frame):
    totals = {}
    for _, row in frame.iterrows():
        week = row["day"].isocalendar().week
        totals[week] = totals.get(week, 0) + row["units"]
    return totals"""

FAILS = """\
last_week, this_week = 0, 1_250
growth = (this_week - last_week) / last_week"""

FIGURE = """\
import matplotlib.pyplot as plt

daily = df.set_index("day")["units"].resample("D").sum()
fig, ax = plt.subplots(figsize=(10, 8), dpi=100)
daily.plot(ax=ax, title="Units sold per day")
ax.set_ylabel("units")
plt.show()"""

cells = [
    why(
        "# The notebook as context\n\n"
        "Questions asked in a notebook are about the notebook: why did that cell fail, what "
        "does this table say, what does this plot show. A `%%llm` prompt can name the "
        "notebook's own cells by their `[n]` number and its values by name; nbstream turns "
        "each into text (or a picture) a model can read, within a budget, and never "
        "evaluates anything. The answers here come from the small demo model; the "
        "`--dry-run` cells show exactly what a model would be sent."
    ),
    code("%load_ext nbstream"),
    why("Two million rows of made-up sales, a slow function, and a cell that fails."),
    code(DATA),
    code(FUNCTION),
    code(FAILS, "raises-exception"),
    why(
        "## Cells: `{In[n]}`, `{Out[n]}`, `{Err[n]}`, `{Err.last}`\n\n"
        "`{In[3]}` is cell 3's source as typed, `{Out[2]}` cell 2's result (here the shape "
        "tuple), `{Err[4]}` the error cell 4 raised, as the notebook showed it but without "
        "colour codes, and `{Err.last}` the most recent error. `--dry-run` shows the "
        "prompt they make and its size, and sends nothing."
    ),
    code(
        f"{DRY}\n"
        "The table has shape {Out[2]}. Why did this fail?\n{Err[4]}\n"
        "Make this function faster:\n{In[3]}"
    ),
    why(
        "The same reference in a real answer. A number that no cell has, a cell without a "
        "result, or `{Err[n]}` for a cell that did not fail is one sentence, and nothing "
        "is sent."
    ),
    code(
        "%%llm -n 40 -t 0 --seed 1 --stop Q:\n"
        "Python printed this error:\n{Err.last}\n\n"
        "Q: What went wrong, in one sentence?\nA: The program"
    ),
    code(f"{DRY}\nWhy did cell 3 fail? {{Err[3]}}", "raises-exception"),
    why(
        "## DataFrames\n\n"
        "A DataFrame or Series becomes a compact Markdown table: its shape, each column's "
        "type, the first and last rows. Only those rows are read, so two million rows "
        "cost what ten do."
    ),
    code(f"{DRY}\nHere is the data:\n{{df}}\nWhich region sells the most?"),
    why(
        "Every value's text stays within `%config LLMMagics.max_value_chars` (4,000 "
        "characters unless you set it); longer text keeps its start and end, and the cut "
        "says how much was left out."
    ),
    code(
        "%config LLMMagics.max_value_chars = 300\n"
        'notes = "Sales notes. " + "Nothing unusual this week. " * 60'
    ),
    code(f"{DRY}\nSummarise: {{notes}}"),
    code("%config LLMMagics.max_value_chars = 4000"),
    why(
        "## Figures and images\n\n"
        "A matplotlib figure, a PIL image, an `IPython.display.Image` or an output that is "
        "an image goes to the model as a picture: an `image_url` part for OpenAI-compatible "
        "servers, `images` for Ollama. `--dry-run` shows it as a placeholder."
    ),
    code(FIGURE),
    code(f"{DRY}\nWhat trend does this plot show? {{fig}}"),
    why(
        "A model that cannot read images says so in one sentence instead of silently "
        "dropping the picture. The demo model runs in the kernel and reads text only:"
    ),
    code("%%llm -n 20\nWhat trend does this plot show? {fig}", "raises-exception"),
    why(
        'The chat widget takes the same pictures: `chat.send("What is wrong here?", '
        "images=[fig])`, or an image pasted or dropped into its input box."
    ),
]

if __name__ == "__main__":
    print(build("06-notebook-context", cells))
