"""lipbook.explorer: the frames decode to what the critics and generators give, the readouts are
the runs' histories, the page has the structure the book's tests rely on, bad arguments are
refused by name, and a diverging member is reported, not drawn as a blank plot."""

from __future__ import annotations

import base64
import dataclasses
import html.parser
import json
import math
import re

import numpy as np
import pytest
import torch

from lipbook import toy
from lipbook.book import format_value
from lipbook.config import METHOD_TABLE
from lipbook.explorer import RESOLUTION_RANGE, explore, explorer_values
from lipbook.train import WGANConfig, sweep

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = dict(hidden=16, depth=2, batch=64, steps=40, critic_steps=2, eval_every=10,
            eval_samples=128, device="cpu")
LAMS = [0.1, 1.0, 10.0]
LIM, RES = 2.0, 24


@pytest.fixture(scope="module")
def config():
    return WGANConfig(method="gp", **TINY)


@pytest.fixture(scope="module")
def ex(config):
    return explore(config, "lam", LAMS, snapshots=4, progress=False, lim=LIM, resolution=RES)


@pytest.fixture(scope="module")
def data(ex):
    page = ex.to_html()
    found = re.search(r'<script type="application/json" class="lipbook-explorer-data">'
                      r"(.*?)</script>", page, re.S)
    assert found, "no embedded JSON"
    return json.loads(found[1])


def decode_grid(frame: dict, res: int) -> np.ndarray:
    q = np.frombuffer(base64.b64decode(frame["f"]), dtype=np.uint8).reshape(res, res)
    return frame["lo"] + q.astype(float) * (frame["hi"] - frame["lo"]) / 255


def decode_points(b64: str, lim: float) -> np.ndarray:
    q = np.frombuffer(base64.b64decode(b64), dtype="<u2").reshape(-1, 2)
    return -lim + q.astype(float) / 65535 * 2 * lim


def test_snapshots_are_spread_over_the_run_and_end_at_the_last_step(ex, data):
    assert ex.steps == [10, 20, 30, 40] == data["steps"]
    assert len(data["datasets"][0]["frames"]) == len(LAMS) and all(len(row) == 4 for row in data["datasets"][0]["frames"])
    for r in ex.results:
        assert r.history["step"][0] == 0  # the W1 curves start at step 0
    assert [c["step"] for c in data["datasets"][0]["curves"]] == [r.history["step"] for r in ex.results]


def test_critic_grid_round_trips_within_half_a_step(ex, data):
    axis = torch.linspace(-LIM, LIM, RES, dtype=torch.float64)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    grid = torch.stack([xx.flatten(), yy.flatten()], dim=1).float()
    for i, r in enumerate(ex.results):
        frame = data["datasets"][0]["frames"][i][-1]  # the final snapshot: the returned critic
        with torch.no_grad():
            f = r.critic(grid).double().view(RES, RES).numpy()
        assert frame["lo"] == pytest.approx(f.min(), abs=1e-6)
        assert frame["hi"] == pytest.approx(f.max(), abs=1e-6)
        half = (frame["hi"] - frame["lo"]) / 255 / 2
        assert half > 0
        assert np.abs(decode_grid(frame, RES) - f).max() <= half * (1 + 1e-6) + 1e-7
        for earlier in data["datasets"][0]["frames"][i]:
            decoded = decode_grid(earlier, RES)
            assert decoded.min() == earlier["lo"] and decoded.max() == pytest.approx(earlier["hi"])


def test_points_round_trip_within_half_a_step_and_clamp_outside_the_view(ex, data):
    half = 2 * LIM / 65535 / 2
    for i, r in enumerate(ex.results):
        frame = data["datasets"][0]["frames"][i][-1]
        x = r.samples.double().numpy()
        decoded = decode_points(frame["pts"], LIM)
        assert decoded.shape == x.shape
        assert np.abs(decoded - np.clip(x, -LIM, LIM)).max() <= half + 1e-9
        assert frame["out"] == int((np.abs(x) > LIM).any(axis=1).sum())
    g = torch.Generator().manual_seed(20_221_011)  # plots.TARGET_SEED: the figures' real points
    real = toy.sample("8gaussians", 512, generator=g).double().numpy()
    assert np.abs(decode_points(data["datasets"][0]["real"], LIM) - np.clip(real, -LIM, LIM)).max() <= half + 1e-9


def test_readouts_are_the_histories_at_the_snapshot_steps(ex):
    for i, r in enumerate(ex.results):
        h = r.history
        for t, step in enumerate(ex.steps):
            fr = ex.frame(i, t)
            k = h["step"].index(step)
            assert fr["iteration"] == step and fr["value"] == LAMS[i]
            assert fr["exact_w1"] == h["exact_w1"][k]
            assert fr["dual_w1"] == h["dual_w1"][k]
            assert fr["grad_norm_mean"] == h["grad_norm_mean"][k]
            assert fr["diverged"] is None
            expected = (f"8gaussians · λ = {LAMS[i]:.3g} · iteration {step} · W1 = {h['exact_w1'][k]:.3g} · "
                        f"modes {fr['modes'][0]}/{fr['modes'][1]} · E f(real) − E f(fake) = "
                        f"{h['dual_w1'][k]:.3g} · mean ‖∇f‖ = {h['grad_norm_mean'][k]:.3g}")
            assert fr["readout"].startswith(expected)


def test_final_snapshot_is_the_sweeps_final_result(ex, config):
    plain = sweep(config, "lam", LAMS)  # the same run without the explorer's callback
    for i, (r, p) in enumerate(zip(ex.results, plain)):
        fr = ex.frame(i, -1)
        assert fr["iteration"] == config.steps == r.history["step"][-1]
        assert fr["exact_w1"] == r.history["exact_w1"][-1] == p.history["exact_w1"][-1]
        assert fr["dual_w1"] == p.history["dual_w1"][-1]
        assert fr["grad_norm_mean"] == p.history["grad_norm_mean"][-1]
        assert fr["modes"] == toy.mode_coverage(p.samples, "8gaussians")


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_html_structure(ex):
    page = ex.to_html()
    assert page == ex._repr_html_() == ex.to_html()
    parser = _Tags()
    parser.feed(page)
    tags = parser.tags
    roots = [a for t, a in tags if t == "div" and "lipbook-explorer" in a.get("class", "").split()]
    assert len(roots) == 1 and roots[0]["data-param"] == "lam" and roots[0]["id"] == ex.id
    ranges = {a["name"]: a for t, a in tags if t == "input" and a.get("type") == "range"}
    assert set(ranges) == {"value", "step"}
    assert ranges["value"]["max"] == str(len(LAMS) - 1)
    assert ranges["step"]["max"] == str(len(ex.steps) - 1)
    assert all("aria-label" in a for a in ranges.values())
    assert sum(t == "canvas" for t, _ in tags) == 2
    assert any("lipbook-readout" in a.get("class", "") for _, a in tags)
    assert any(t == "button" and a.get("type") == "button" for t, a in tags)
    for _, a in tags:
        for key in ("src", "href"):
            assert not re.match(r"https?://", a.get(key, "")), a
    assert page.count("window.lipbookExplorer = {") == 1  # the script, inlined once
    assert "http://" not in page and "https://" not in page


def test_explorer_values_span_the_live_sliders(one_torch_thread):
    for method in ("clip", "gp", "gran", "lp"):
        control = METHOD_TABLE[method].control
        vals = explorer_values(method)
        assert len(vals) == 9 and vals == sorted(vals)
        lo, hi = control.bounds
        assert vals[0] == pytest.approx(10 ** lo) and vals[-1] == pytest.approx(10 ** hi)
        ratios = np.diff(np.log10(vals))
        assert ratios == pytest.approx(np.full(8, (hi - lo) / 8), abs=0.01)  # log-spaced
    sn = explorer_values("sn")
    assert len(sn) == 9 and len(set(sn)) == 9 and all(isinstance(v, int) for v in sn)
    assert sn[0] == 1 and sn[-1] == 10
    assert explorer_values("sn", 20) == list(range(1, 11))  # all ints of a shorter range
    with pytest.raises(ValueError, match="method"):
        explorer_values("nope")
    with pytest.raises(ValueError, match="n must be an int >= 2"):
        explorer_values("clip", 1)


@pytest.mark.parametrize("change, argname", [
    (dict(name="c"), "name"), (dict(name="eps"), "name"), (dict(values=[]), "values"),
    (dict(values=[-1.0]), "lam"), (dict(values="abc"), "values"), (dict(snapshots=1), "snapshots"),
    (dict(snapshots=5), r"snapshots must be in \[2, 4\]"), (dict(snapshots=2.5), "snapshots"),
    (dict(resolution=4), "resolution"), (dict(resolution=RESOLUTION_RANGE[1] + 1), "resolution"),
    (dict(lim=0), "lim"), (dict(lim=math.inf), "lim"), (dict(progress="yes"), "progress"),
    (dict(datasets="ring"), "datasets"), (dict(datasets=[]), "datasets"),
    (dict(datasets=["ring", "moons"]), "datasets"), (dict(datasets=["ring", "ring"]), "datasets"),
    (dict(config=None), "config"),
])
def test_bad_arguments_are_refused_by_name(config, change, argname):
    kwargs = dict(config=config, name="lam", values=LAMS, snapshots=4, progress=False)
    kwargs.update(change)
    with pytest.raises(ValueError, match=argname):
        explore(**kwargs)


def test_frame_indices_are_checked(ex):
    assert ex.frame(-1, -1) == ex.frame(len(LAMS) - 1, len(ex.steps) - 1)
    with pytest.raises(ValueError, match=r"i must be an int in \[-3, 2\]"):
        ex.frame(3, 0)
    with pytest.raises(ValueError, match="t must be"):
        ex.frame(0, 4)


def test_summary_is_computed_from_the_final_results(ex):
    final = [r.history["exact_w1"][-1] for r in ex.results]
    modes = [r.modes_covered() for r in ex.results]
    best = min(range(len(LAMS)), key=final.__getitem__)
    most = max(m for m, _ in modes)
    s = ex.summary()
    assert s["n"] == len(LAMS) and s["best"] == format_value(LAMS[best])
    assert s["best-w1"] == final[best] and s["most-modes"] == most and s["modes-total"] == 8
    assert s["most-modes-at"] == ", ".join(format_value(v) for v, (m, _) in zip(LAMS, modes)
                                           if m == most)
    assert s["diverged"] == "No run diverged."


def test_format_value():
    assert [format_value(x) for x in (0.123456, 1234.5, 1.5e-5, 0.0, None, 2.0)] == [
        "0.123", "1.23e+03", "1.5e-05", "0", "—", "2"]


def test_diverging_members_are_reported_and_the_others_retrained():
    # λ ≥ 3e37 overflows the penalty within 2 iterations: 1e38 before the first snapshot (at
    # iteration 1), 3e37 just after it. Each divergence stops the batch; the rest are retrained.
    cfg = WGANConfig(method="gp", **{**TINY, "eval_every": 1})
    lams = [0.1, 3e37, 1.0, 1e38]
    ex = explore(cfg, "lam", lams, snapshots=5, progress=False, resolution=RES)
    assert ex.steps == [1, 11, 21, 30, 40]
    assert set(ex.diverged) == {1, 3}
    # where each diverges depends on rounding (another CPU may differ by an iteration), so the
    # checks below follow the iteration it did diverge at
    assert all(1 <= s <= cfg.steps for s in ex.diverged.values())
    plain = sweep(cfg, "lam", [0.1, 1.0])  # the others, trained without them
    for i, p in zip((0, 2), plain):
        assert ex.results[i].history["exact_w1"] == pytest.approx(p.history["exact_w1"], rel=1e-4)
        assert ex.frame(i, -1)["exact_w1"] == ex.results[i].history["exact_w1"][-1]
        assert ex.frame(i, -1)["diverged"] is None
    for i in (1, 3):
        s = ex.diverged[i]
        before = [step for step in ex.steps if step < s]
        last = ex.results[i]  # its state at its last snapshot before diverging, if any
        assert (last is None) == (not before)
        if before:
            assert last.history["step"][-1] == before[-1]
        for t, step in enumerate(ex.steps):
            fr = ex.frame(i, t)
            assert fr["diverged"] == s
            if step < s:
                assert fr["exact_w1"] == last.history["exact_w1"][-1]
                assert f"diverges at iteration {s}" in fr["readout"]
            else:
                assert fr["exact_w1"] is None and fr["modes"] is None
                assert fr["readout"] == (f"8gaussians · {ex.labels[i]} · iteration {step} · "
                                         f"diverged at iteration {s}")
    page = ex.to_html()
    data = json.loads(re.search(r'class="lipbook-explorer-data">(.*?)</script>', page, re.S)[1])
    assert data["datasets"][0]["diverged"] == [None, ex.diverged[1], None, ex.diverged[3]]
    for i in (1, 3):
        assert [f is None for f in data["datasets"][0]["frames"][i]] == [st >= ex.diverged[i] for st in ex.steps]
    assert "diverged at iteration" in page
    said = ex.summary(symbol="λ")["diverged"]
    assert said == ("Diverged: " + "; ".join(f"λ = {format_value(lams[i])} at iteration "
                                            f"{ex.diverged[i]}" for i in (1, 3)) + ".")


def test_gradient_normalized_critic_on_a_dataset_without_modes():
    # GraN's critic needs autograd to be evaluated on the grid; swissroll has no modes ("—")
    cfg = WGANConfig(method="gran", dataset="swissroll", **TINY)
    ex = explore(cfg, "eps", [0.01, 1.0], snapshots=2, progress=False, resolution=RES)
    assert ex.steps == [10, 40] and not ex.diverged
    for i in range(2):
        fr = ex.frame(i, -1)
        assert fr["modes"] is None and " · modes — · " in fr["readout"]
        assert fr["exact_w1"] == ex.results[i].history["exact_w1"][-1]
    assert 'data-param="eps"' in ex.to_html()


def test_each_dataset_is_its_own_sweep_and_the_page_offers_them_in_order():
    # the second dataset's frames are a plain sweep on that dataset; the first is the default
    cfg = WGANConfig(method="clip", **TINY)
    cs = [0.01, 0.1]
    ex = explore(cfg, "c", cs, snapshots=2, progress=False, resolution=RES,
                 datasets=["ring", "25gaussians"])
    assert ex.datasets == ["ring", "25gaussians"] and ex.results is ex.runs[0].results
    for d, name in enumerate(ex.datasets):
        plain = sweep(dataclasses.replace(cfg, dataset=name), "c", cs)
        for i, p in enumerate(plain):
            fr = ex.frame(i, -1, d=d)
            assert fr["dataset"] == name and fr["readout"].startswith(f"{name} · c = ")
            assert fr["exact_w1"] == p.history["exact_w1"][-1]
            assert fr["modes"] == (toy.mode_coverage(p.samples, name) if d else None)
        assert ex.summary(d=d)["dataset"] == name
    page = ex.to_html()
    data = json.loads(re.search(r'class="lipbook-explorer-data">(.*?)</script>', page, re.S)[1])
    assert [ds["name"] for ds in data["datasets"]] == ex.datasets
    g = torch.Generator().manual_seed(20_221_011)  # plots.TARGET_SEED
    ring = toy.sample("ring", 512, generator=g).double().numpy()
    assert np.abs(decode_points(data["datasets"][0]["real"], LIM) - ring).max() <= LIM / 65535 + 1e-9
    parser = _Tags()
    parser.feed(page)
    options = [a["value"] for t, a in parser.tags if t == "option"]
    assert options == ["0", "1"] and any(t == "select" and a.get("name") == "dataset"
                                         for t, a in parser.tags)
    assert "on ring and 25gaussians" in page
    with pytest.raises(ValueError, match=r"d must be an int in \[-2, 1\]"):
        ex.frame(0, 0, d=2)


def test_points_outside_a_small_view_are_counted_in_the_readout(config):
    # the 8 modes lie at radius ≈ 1.41, outside [−0.3, 0.3]²: most generated points are too
    ex = explore(config, "lam", [1.0], snapshots=2, progress=False, lim=0.3, resolution=RES)
    for t in range(2):
        x = ex.runs[0].results[0].samples if t == 1 else None
        fr = ex.frame(0, t)
        n = fr["outside"]
        if x is not None:
            assert n == int((x.abs() > 0.3).any(dim=1).sum())
        assert n > 1 and fr["readout"].endswith(f" · {n} generated points outside the view")
