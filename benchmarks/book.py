"""Wall time of executing each chapter, and the whole book, on this machine, against DESIGN.md's
time budgets (2-core CPU: Ch. 1 ≤ 20 s, Ch. 2 ≤ 60 s, Ch. 3-6 and 8 ≤ 90 s each, Ch. 7 ≤ 300 s;
the whole book ≤ 14 minutes).

    python benchmarks/book.py                   # every chapter of _toc.yml, one after another
    python benchmarks/book.py --only 01 03      # chapters whose file name starts so
    python benchmarks/book.py --threads 1       # OMP_NUM_THREADS for the kernels

Each chapter runs top to bottom in a fresh python3 kernel (nbclient, the executor that
Jupyter Book and nbmake use), in book/ as its working directory, like the book build does: one
chapter after another, so the sum is the execution part of `make book`. The kernel's start is
included. The figure printed per chapter is the wall clock from kernel start to the last cell;
"over" marks a chapter past its budget. Exit status 1 when a chapter fails (its error printed),
not when a budget is exceeded: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = {1: 20, 2: 60, 3: 90, 4: 90, 5: 90, 6: 90, 7: 300, 8: 90}  # DESIGN.md, per chapter
BOOK_BUDGET_S = 14 * 60
CELL_TIMEOUT_S = 600  # as _config.yml's execute.timeout


def chapters() -> list[Path]:
    """The notebooks of _toc.yml, in the book's order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc.get("parts", []) for c in part.get("chapters", [])]
    return [ROOT / f"{f}.ipynb" for f in files if (ROOT / f"{f}.ipynb").exists()]


def execute(path: Path, env: dict[str, str]) -> float:
    """Run the notebook in a fresh kernel; its wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            # why: the kernel's start-up warning would break up the table
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    start = time.perf_counter()
    client.execute(env=env)  # env: passed on to the kernel manager's start_kernel
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", default=None, help="file-name prefixes, e.g. 01 07")
    ap.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for the kernels")
    args = ap.parse_args()

    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # as the build does
    if args.threads is not None:
        env["OMP_NUM_THREADS"] = str(args.threads)
    paths = [p for p in chapters()
             if args.only is None or any(p.name.startswith(o) for o in args.only)]
    if not paths:
        ap.error(f"no chapter matches --only {args.only}")

    print("book: executing each chapter in a fresh kernel, one after another")
    print(machine(), f"OMP_NUM_THREADS={env.get('OMP_NUM_THREADS', 'unset')}")
    print(f"{'chapter':32s} {'seconds':>8s} {'budget':>7s}")
    print("-" * 56)
    total, failed = 0.0, []
    for path in paths:
        number = int(re.match(r"(\d+)", path.name).group(1))
        budget = BUDGET_S.get(number)
        try:
            seconds = execute(path, env)
        except Exception as e:  # noqa: BLE001 - report the failing chapter, go on with the rest
            failed.append(path.name)
            print(f"{path.stem:32s}   FAILED: {type(e).__name__}: {str(e)[-300:]}")
            continue
        total += seconds
        mark = "" if budget is None or seconds <= budget else "  over"
        print(f"{path.stem:32s} {seconds:8.1f} {budget or '-':>7}{mark}", flush=True)
    print("-" * 56)
    whole = "the whole book" if args.only is None else "these chapters"
    mark = "" if total <= BOOK_BUDGET_S else "  over"
    print(f"{whole:32s} {total:8.1f} {BOOK_BUDGET_S if args.only is None else '-':>7}{mark}"
          f"   ({total / 60:.1f} min)")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
