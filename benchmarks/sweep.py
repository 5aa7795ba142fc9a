"""K = 8 values of λ (WGAN-GP): one batched ``lipbook.train.sweep`` against 8 sequential runs of
the textbook loop and against 8 sequential ``lipbook.train`` runs.

    python benchmarks/sweep.py                  # widths 64 and 128
    python benchmarks/sweep.py --quick          # width 128, fewer steps, no loop-sampler baseline
    python benchmarks/sweep.py --device cuda --threads 1

Printed: ms per generator iteration for all 8 settings together (for the sequential runs, the
sum of the 8 runs' per-iteration times), wall clock with CPU time in brackets, and the ratios.
Per-iteration times are medians over chunks of 10 iterations after 10 warm-up iterations (see
benchmarks/baseline.py); the sweep's chunks include its evaluation of 8 members on 64 held-out
points, which is counted against it. The baseline is the textbook loop with a vectorised
sampler ("vec", the fair reference) and, unless ``--quick``, with the toy code's NumPy loop
sampler ("loop").
"""

from __future__ import annotations

import argparse
import dataclasses
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
    args = ap.parse_args(argv)
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
        t0 = time.perf_counter()
        sw = timed(sweep, cfg, name="lam", values=LAMS)
        t_sweep = time.perf_counter() - t0
        seq = [0.0, 0.0]
        t0 = time.perf_counter()
        for lam in LAMS:
            w, c = timed(train, dataclasses.replace(cfg, lam=lam))
            seq[0] += w
            seq[1] += c
        t_train = time.perf_counter() - t0
        base = {}
        for name, sampler in (("vec", "torch"),) + (() if args.quick else (("loop", "loop"),)):
            acc = [0.0, 0.0]
            for lam in LAMS:
                cpu: list[float] = []
                acc[0] += train_baseline("gp", hidden=width, steps=CHUNK * chunks, lam=lam,
                                         device=dev, sampler=sampler, warmup=CHUNK,
                                         chunk=CHUNK, cpu_out=cpu)
                acc[1] += cpu[0]
            base[name] = acc
        cell = lambda wc: f"{1e3 * wc[0]:7.1f} ({1e3 * wc[1]:6.1f})"  # noqa: E731
        ratio = lambda a, s=sw: f"{a[0] / s[0]:5.2f} ({a[1] / s[1]:.2f})"  # noqa: E731
        loop = base.get("loop")
        print(f"{width:5d} {cell(loop) if loop else '—':>16} {cell(base['vec']):>16} "
              f"{cell(seq):>16} {cell(sw):>16} {ratio(loop) if loop else '—':>11} "
              f"{ratio(base['vec']):>11} {ratio(seq):>12}", flush=True)
        print(f"      whole calls incl. setup and evaluation: sweep {t_sweep:.1f} s, "
              f"8 x lipbook.train {t_train:.1f} s ({cfg.steps} iterations each)")
    print(machine())


if __name__ == "__main__":
    main()
