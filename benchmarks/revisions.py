"""Two source trees of lipbook side by side: ms per generator iteration of ``train`` (one run)
and of ``sweep`` (K members at once) under each tree, alternating, so that a busy machine
disturbs both alike. For a refactoring that must not cost speed (issue 16: within 5 %).

    git worktree add /tmp/old e3793cc
    python benchmarks/revisions.py /tmp/old/src src            # old against this checkout
    python benchmarks/revisions.py /tmp/old/src src --repeats 5 --threads 1

Each measurement runs in a fresh subprocess with ``PYTHONPATH`` set to one tree's ``src`` (so
the two never share an import), trains 10 warm-up and ``--steps`` timed iterations with
evaluation off (``eval_every`` beyond the run), and reports the median over chunks of 10
iterations of wall-clock and CPU time. The table gives the medians over ``--repeats`` and the
ratio new / old (below 1: the new tree is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, statistics, sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
from lipbook.train import WGANConfig, sweep, train
kind, method, width, steps = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
hp = {"gp": "lam", "lp": "lam", "clip": "c", "sn": "n_power_iterations", "gn": "seed",
      "gran": "eps"}[method]
values = {"lam": [10.0 ** e for e in range(-3, 5)], "c": [10.0 ** (e / 3) for e in range(-9, -1)],
          "n_power_iterations": list(range(1, 9)), "eps": [10.0 ** e for e in range(-4, 4)],
          "seed": list(range(8))}[hp]
extra = {"optimizer": "rmsprop", "lr": 5e-5} if method == "clip" else {}
times = []
def cb(p):
    times.append((time.perf_counter(), time.process_time()))
def cfg(n):
    return WGANConfig(method=method, hidden=width, depth=3, batch=256, critic_steps=5,
                      steps=n, eval_every=10, eval_samples=64, device="cpu", **extra)
c = cfg(10 + steps)
if kind == "train":
    train(c, callback=cb)
else:
    sweep(c, hp, values, callback=cb)
wall = [1000 * (b[0] - a[0]) / 10 for a, b in zip(times[1:], times[2:])]
cpu = [1000 * (b[1] - a[1]) / 10 for a, b in zip(times[1:], times[2:])]
print(json.dumps({"wall": statistics.median(wall), "cpu": statistics.median(cpu)}))
"""


def measure(src: str, kind: str, method: str, width: int, steps: int, threads: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve()), "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(threads), kind,
                          method, str(width), str(steps)], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--methods", nargs="*", default=["gp", "clip", "sn", "gran"])
    ap.add_argument("--kinds", nargs="*", default=["train", "sweep"])
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    print(f"old: {a.old}   new: {a.new}   width {a.width}, {a.threads} thread(s), "
          f"{a.repeats} alternating repeats, ms per generator iteration (wall / CPU)")
    print(f"{'':14s}{'old wall':>10s}{'new wall':>10s}{'ratio':>8s}{'old cpu':>10s}"
          f"{'new cpu':>10s}{'ratio':>8s}")
    for kind in a.kinds:
        for method in a.methods:
            runs = {"old": [], "new": []}
            for _ in range(a.repeats):
                for tree in ("old", "new"):
                    runs[tree].append(measure(getattr(a, tree), kind, method, a.width, a.steps,
                                              a.threads))
            med = {t: {k: statistics.median(r[k] for r in runs[t]) for k in ("wall", "cpu")}
                   for t in runs}
            print(f"{kind + ' ' + method:14s}{med['old']['wall']:10.2f}{med['new']['wall']:10.2f}"
                  f"{med['new']['wall'] / med['old']['wall']:8.3f}{med['old']['cpu']:10.2f}"
                  f"{med['new']['cpu']:10.2f}{med['new']['cpu'] / med['old']['cpu']:8.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
