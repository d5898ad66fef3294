"""A/B: ``%%llm`` ÷ the raw loop for two source trees, interleaved on a busy machine.

Absolute speeds on a shared machine drift by more than the few percent a change to the
hot path is worth, so this runs one kernel per tree (``PYTHONPATH`` set to it) side by
side and alternates: in each round, each kernel runs the raw loop and then the same
``%%llm`` cell (as ``bench_magic.py`` does), and the round's ratio is raw ÷ ``%%llm``
from that one pair. Drift hits both trees in the same round, so the medians compare.
Each ratio is given twice: wall time (what users feel; what the goal is stated in) and
the kernel process's CPU time (all its threads), which other processes' load disturbs
far less — though it does not see time lost waiting for the GIL.

Run: ``python bench/bench_magic_ab.py OLD_TREE [NEW_TREE] [--rounds 9] [--tokens 2000,6000]``
(NEW_TREE defaults to this checkout; a tree is a directory holding ``nbstream/``, e.g.
``git worktree add /tmp/old HEAD~3`` or ``git archive REV | tar -x -C /tmp/old``).
Prints each round and the median, min and max ratio per tree. Asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_magic import PROMPT, RAW, SETUP, last_json  # noqa: E402
from tests.kernel import MIME, Kernel  # noqa: E402
from tests.tinymodel import write_tiny_model  # noqa: E402

CELL = "%%llm llama:{path}?n_ctx=8192 -t 0 -n {n} --raw\n{prompt}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path, nargs="?", default=ROOT)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--tokens", default="2000,6000")
    args = parser.parse_args()
    lengths = [int(n) for n in args.tokens.split(",")]
    trees = {"old": args.old.resolve(), "new": args.new.resolve()}
    with tempfile.TemporaryDirectory() as tmp:
        path = str(write_tiny_model(Path(tmp) / "tiny.gguf"))
        kernels = {name: Kernel(env={"PYTHONPATH": str(tree)}) for name, tree in trees.items()}
        try:
            for name, kernel in kernels.items():
                where = kernel.value("__import__('nbstream').__file__")
                assert where.startswith(str(trees[name])), (name, where)
                assert kernel.run("%load_ext nbstream").status == "ok"
                # SETUP imports the baseline from this checkout's bench/ (the same for both).
                assert kernel.run(SETUP.format(root=str(ROOT))).status == "ok"
                kernel.run(f"%%llm llama:{path}?n_ctx=8192 -t 0 -n 50 --raw\n{PROMPT}")
            for n in lengths:
                ratios: dict[str, list[float]] = {name: [] for name in kernels}
                cpu: dict[str, list[float]] = {name: [] for name in kernels}
                for round_ in range(args.rounds):
                    # Alternate which tree goes first, so neither always follows the other.
                    order = list(kernels) if round_ % 2 == 0 else list(reversed(kernels))
                    line = []
                    for name in order:
                        kernel = kernels[name]
                        raw = last_json(kernel.run(RAW.format(path=path, prompt=PROMPT, n=n)))
                        cell = kernel.run(CELL.format(path=path, n=n, prompt=PROMPT))
                        assert cell.final[MIME]["usage"]["completion_tokens"] == n
                        timing = kernel.value("_cells[-2]")
                        seconds = timing["end"] - timing["start"]
                        ratios[name].append(raw["seconds"] / seconds)
                        cpu[name].append(raw["cpu"] / (timing["cpu_end"] - timing["cpu_start"]))
                        line.append(
                            f"{name} {ratios[name][-1]:.3f} ({n / seconds:.0f} tok/s; "
                            f"CPU {cpu[name][-1]:.3f})"
                        )
                    print(f"{n} tokens, round {round_ + 1}: " + ", ".join(line), flush=True)
                for label, table in (("wall", ratios), ("CPU", cpu)):
                    for name, values in table.items():
                        print(
                            f"{n} tokens, {label}, {name} ({trees[name]}): raw ÷ %%llm median "
                            f"{statistics.median(values):.3f}, min {min(values):.3f}, "
                            f"max {max(values):.3f} over {len(values)} rounds"
                        )
                    diffs = [b - a for a, b in zip(table["old"], table["new"], strict=True)]
                    print(
                        f"{n} tokens, {label}, new − old per round: median "
                        f"{statistics.median(diffs):+.3f}, min {min(diffs):+.3f}, "
                        f"max {max(diffs):+.3f}",
                        flush=True,
                    )
        finally:
            for kernel in kernels.values():
                kernel.shutdown()


if __name__ == "__main__":
    main()
