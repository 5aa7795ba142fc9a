"""Milliseconds per generator iteration (with its critic steps): the textbook loop against
``lipbook.train``, for each method at widths 64, 128 and 512, plus the GFLOP/s achieved
against a large matmul measured in the same run.

    python benchmarks/train_step.py                 # every method, widths 64 128 512
    python benchmarks/train_step.py --quick         # gp and clip at width 128, fewer steps
    python benchmarks/train_step.py --device cuda   # on the GPU

Both loops train the same architecture (critic and generator 2 → w → w → w → out, ReLU), batch
256, 5 critic steps, Adam (RMSprop for clip). Times are medians over chunks of 10 iterations
after 10 warm-up iterations (chunks of 5 at width 512), and the median over ``--repeats``
alternating runs of each (one at width 512), so a busy machine shows as noise, not as bias. CPU
time (``time.process_time``, all threads) is printed beside the wall clock: with one thread
(``--threads 1``) it is the figure that a loaded machine disturbs least. The baseline is timed twice: with the toy code's
NumPy per-point sampler ("loop") and with a vectorised sampler ("vec"); the ratio that counts
is baseline(vec) / lipbook, since the sampler is not part of the training step.

FLOPs are counted analytically from the Linear layers only, the same count for both loops (the
same mathematics): a forward on n points costs 2·n·Σ fan_in·fan_out; a backward costs twice its
forward; a double backward (the gradient penalty on the interpolates, GN / GraN on every
critic call) costs 3× (forward + input gradient); SN adds 4·fan_in·fan_out per power step.
Elementwise work, the optimizer and the sampler are not counted, so GFLOP/s is a rate of useful
matmul work. The reference is ``torch.mm`` of two n×n float32 matrices (n = 2048).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import machine, timed, train_baseline  # noqa: E402

from lipbook.train import WGANConfig, train  # noqa: E402

BATCH, CRITIC_STEPS, DEPTH = 256, 5, 3


def dims(in_dim: int, out_dim: int, width: int) -> list[tuple[int, int]]:
    d = [in_dim] + [width] * DEPTH + [out_dim]
    return list(zip(d[:-1], d[1:]))


def flops_per_iteration(method: str, width: int, batch: int = BATCH,
                        critic_steps: int = CRITIC_STEPS) -> float:
    """Analytic FLOPs of one generator iteration (see the module docstring)."""
    mac_d = sum(i * o for i, o in dims(2, 1, width))
    mac_g = sum(i * o for i, o in dims(2, 2, width))
    fd = lambda n: 2.0 * n * mac_d  # noqa: E731 - forward FLOPs of the critic on n points
    fg = lambda n: 2.0 * n * mac_g  # noqa: E731
    normalized = method in ("gn", "gran")
    critic = fg(batch)  # fake samples, forward only
    critic += (6 if normalized else 3) * fd(2 * batch)  # real and fake: fwd + bwd (+ double)
    if method in ("gp", "lp"):
        critic += 6 * fd(batch)  # interpolates: fwd, input gradient, backward through both
    if method == "sn":
        critic += 4.0 * mac_d  # one power step per critic update
    gen = 3 * fg(batch) + (6 if normalized else 2) * fd(batch)  # G fwd+bwd, D fwd + input grad
    return critic_steps * critic + gen


def matmul_gflops(device: str, n: int = 2048, reps: int = 10) -> tuple[float, float]:
    """GFLOP/s of ``a @ b`` for n×n float32 matrices: (best wall clock, best CPU time)."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    for _ in range(2):
        a @ b
    best, best_cpu = float("inf"), float("inf")
    for _ in range(reps):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        a @ b
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return 2.0 * n ** 3 / best / 1e9, 2.0 * n ** 3 / max(best_cpu, 1e-9) / 1e9


def lipbook_time(method: str, width: int, chunks: int, chunk: int,
                 device: str) -> tuple[float, float]:
    cfg = WGANConfig(method=method, hidden=width, depth=DEPTH, batch=BATCH,
                     critic_steps=CRITIC_STEPS, optimizer="rmsprop" if method == "clip" else "adam",
                     steps=chunk * (chunks + 1), eval_every=chunk, eval_samples=64, device=device)
    return timed(train, cfg)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--quick", action="store_true", help="gp and clip at width 128, fewer steps")
    ap.add_argument("--methods", nargs="*", default=None)
    ap.add_argument("--widths", nargs="*", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None, help="alternating runs per cell")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    methods = args.methods or (["gp", "clip"] if args.quick else
                               ["none", "clip", "gp", "lp", "sn", "gn", "gran"])
    widths = args.widths or ([128] if args.quick else [64, 128, 512])
    repeats = args.repeats or (1 if args.quick else 3)
    dev = args.device
    print(f"train_step: device {dev}" + (f" ({torch.cuda.get_device_name(dev)})"
                                           if dev.startswith("cuda") else ""))
    print(machine())
    peak, peak_cpu = matmul_gflops(dev)
    print(f"reference: torch.mm 2048x2048 float32 = {peak:.1f} GFLOP/s wall clock"
          + ("" if dev.startswith("cuda") else f", {peak_cpu:.1f} GFLOP/s of CPU time"))
    print(f"batch {BATCH}, {CRITIC_STEPS} critic steps, depth {DEPTH}; ms per generator "
          f"iteration (wall clock; CPU ms in brackets, all threads), median of {repeats} run(s)")
    head = (f"{'method':7} {'width':>5} {'base loop':>15} {'base vec':>15} {'lipbook':>15} "
            f"{'vec/lip':>11} {'loop/lip':>9} {'GFLOP/it':>9} {'lip GFLOP/s':>13} "
            f"{'% of mm':>13}")
    print(head)
    print("-" * len(head))
    for width in widths:
        big = width >= 512  # why: 16x the work of width 128; fewer, shorter chunks
        chunk, chunks = (5, 3) if big else (10, 4 if args.quick else 6)
        reps = 1 if big else repeats
        samplers = (("vec", "torch"),) if big else (("loop", "loop"), ("vec", "torch"))
        for method in methods:
            runs: dict[str, list] = {"loop": [], "vec": [], "lip": []}
            for _ in range(reps):
                kw = dict(method=method, hidden=width, steps=chunk * chunks, batch=BATCH,
                          critic_steps=CRITIC_STEPS, device=dev, warmup=chunk, chunk=chunk)
                for name, sampler in samplers:
                    cpu: list[float] = []
                    wall = train_baseline(sampler=sampler, cpu_out=cpu, **kw)
                    runs[name].append((wall, cpu[0]))
                runs["lip"].append(lipbook_time(method, width, chunks, chunk, dev))
            med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
                   for k, v in runs.items() if v}
            (tv, cv), (tp, cp) = med["vec"], med["lip"]
            fl = flops_per_iteration(method, width)
            rate, rate_cpu = fl / tp / 1e9, fl / cp / 1e9
            cell = lambda wc: f"{1e3 * wc[0]:6.1f} ({1e3 * wc[1]:6.1f})"  # noqa: E731
            loop = cell(med["loop"]) if "loop" in med else "—"
            loop_ratio = f"{med['loop'][0] / tp:9.2f}" if "loop" in med else f"{'—':>9}"
            print(f"{method:7} {width:5d} {loop:>15} {cell(med['vec']):>15} {cell(med['lip']):>15} "
                  f"{tv / tp:4.2f} ({cv / cp:4.2f}) {loop_ratio} {fl / 1e9:9.3f} {rate:6.1f} ({rate_cpu:4.1f}) "
                  f"{100 * rate / peak:5.1f}% ({100 * rate_cpu / peak_cpu:3.0f}%)", flush=True)
    print(machine())


if __name__ == "__main__":
    main()
