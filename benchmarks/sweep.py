"""K = 8 values of λ (WGAN-GP): one batched ``lipbook.train.sweep`` against 8 sequential runs of
the textbook loop and against 8 sequential ``lipbook.train`` runs.

    python benchmarks/sweep.py                  # widths 64 and 128
    python benchmarks/sweep.py --quick          # width 128, fewer steps, no loop-sampler baseline
    python benchmarks/sweep.py --device cuda --threads 1

Printed: ms per generator iteration for all 8 settings together (for the sequential runs, the
sum of the 8 runs' per-iteration times), wall clock with CPU time in brackets, and the ratios:
medians over ``--repeats`` (3) repeats in which the four measurements alternate, with the range
of each (the baseline's small products on two threads vary by tens of per cent between runs).
Per-iteration times are medians over chunks of 10 iterations after 10 warm-up iterations (see
benchmarks/baseline.py); the sweep's chunks include its evaluation of 8 members on 64 held-out
points, which is counted against it. The baseline is the textbook loop with a vectorised
sampler ("vec", the fair reference) and, unless ``--quick``, with the toy code's NumPy loop
sampler ("loop").
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import machine, timed, train_baseline  # noqa: E402

from lipbook.train import WGANConfig, sweep, train  # noqa: E402

LAMS = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]
CHUNK = 10


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--widths", nargs="*", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="alternating repeats of the four measurements (medians are printed)")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.threads:
        torch.set_num_threads(args.threads)
    widths = args.widths or ([128] if args.quick else [64, 128])
    chunks = 2 if args.quick else 4
    dev = args.device
    print(f"sweep: device {dev}" + (f" ({torch.cuda.get_device_name(dev)})"
                                      if dev.startswith("cuda") else ""))
    print(machine())
    print(f"WGAN-GP, K = {len(LAMS)} values of λ {LAMS}, batch 256, 5 critic steps, depth 3; "
          f"ms per generator iteration for all {len(LAMS)} settings (wall clock, CPU in brackets)")
    head = (f"{'width':>5} {'8 x base loop':>16} {'8 x base vec':>16} {'8 x lipbook':>16} "
            f"{'sweep K=8':>16} {'loop/sweep':>11} {'vec/sweep':>11} {'train/sweep':>12}")
    print(head)
    print("-" * len(head))
    for width in widths:
        cfg = WGANConfig(method="gp", hidden=width, batch=256, critic_steps=5,
                         steps=CHUNK * (chunks + 1), eval_every=CHUNK, eval_samples=64,
                         device=dev)
        samplers = (("vec", "torch"),) + (() if args.quick else (("loop", "loop"),))
        reps = []  # one dict of (wall, CPU) seconds per iteration per repeat
        for _ in range(args.repeats):  # why: the four measurements alternate, so drift in the
            rep = {}                   # machine's speed shows as spread, not as a biased ratio
            t0 = time.perf_counter()
            rep["sweep"] = timed(sweep, cfg, name="lam", values=LAMS)
            t_sweep = time.perf_counter() - t0
            seq = [0.0, 0.0]
            t0 = time.perf_counter()
            for lam in LAMS:
                w, c = timed(train, dataclasses.replace(cfg, lam=lam))
                seq[0] += w
                seq[1] += c
            t_train = time.perf_counter() - t0
            rep["train"] = seq
            for name, sampler in samplers:
                acc = [0.0, 0.0]
                for lam in LAMS:
                    cpu: list[float] = []
                    acc[0] += train_baseline("gp", hidden=width, steps=CHUNK * chunks, lam=lam,
                                             device=dev, sampler=sampler, warmup=CHUNK,
                                             chunk=CHUNK, cpu_out=cpu)
                    acc[1] += cpu[0]
                rep[name] = acc
            reps.append(rep)
        med = {k: [statistics.median(r[k][i] for r in reps) for i in (0, 1)] for k in reps[0]}
        cell = lambda wc: f"{1e3 * wc[0]:7.1f} ({1e3 * wc[1]:6.1f})"  # noqa: E731

        ratios = {k: "—" for k in ("loop", "vec", "train")}
        for name in med:  # the median over repeats of (name / sweep), each pair measured close
            if name != "sweep":
                w = statistics.median(r[name][0] / r["sweep"][0] for r in reps)
                c = statistics.median(r[name][1] / r["sweep"][1] for r in reps)
                ratios[name] = f"{w:5.2f} ({c:.2f})"

        print(f"{width:5d} {cell(med['loop']) if 'loop' in med else '—':>16} "
              f"{cell(med['vec']):>16} {cell(med['train']):>16} {cell(med['sweep']):>16} "
              f"{ratios['loop']:>11} {ratios['vec']:>11} {ratios['train']:>12}", flush=True)
        if len(reps) > 1:
            spread = {k: f"{1e3 * min(r[k][0] for r in reps):.0f}–"
                         f"{1e3 * max(r[k][0] for r in reps):.0f}" for k in med}
            print(f"      range over {len(reps)} repeats (ms, wall): "
                  + ", ".join(f"{k} {v}" for k, v in spread.items()))
        print(f"      whole calls incl. setup and evaluation (last repeat): sweep {t_sweep:.1f} s, "
              f"8 x lipbook.train {t_train:.1f} s ({cfg.steps} iterations each)")
    print(machine())


if __name__ == "__main__":
    main()
