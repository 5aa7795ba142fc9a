"""lipbook.plots: every figure has labelled axes and a legend, the sweep's static twins have one
panel / frame per member titled with its value, and nothing is left open in pyplot."""

import re

import matplotlib
import pytest
import torch
from matplotlib.figure import Figure

matplotlib.use("Agg")  # why: headless; the package itself never touches pyplot

import matplotlib.pyplot as plt  # noqa: E402

from lipbook import book, plots  # noqa: E402
from lipbook.train import WGANConfig, sweep, train  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = dict(hidden=16, depth=2, batch=32, steps=20, critic_steps=2, eval_every=10,
            eval_samples=64, device="cpu")
LAMS = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]


@pytest.fixture(scope="module")
def members():
    return sweep(WGANConfig(method="gp", **TINY), "lam", LAMS)


@pytest.fixture()
def ax():
    fig = Figure()
    return fig.add_subplot()


def legend_texts(ax):
    legend = ax.get_legend()
    assert legend is not None, "no legend"
    return [t.get_text() for t in legend.get_texts()]


def test_critic_landscape_has_contours_arrows_points_labels_and_legend(ax, members):
    r = members[2]
    out = plots.critic_landscape(ax, r.critic, real=torch.randn(30, 2), fake=r.samples,
                                 lim=1.5, title="critic")
    assert out is ax
    assert ax.get_xlabel() == "x1" and ax.get_ylabel() == "x2" and ax.get_title() == "critic"
    assert ax.get_xlim() == (-1.5, 1.5) and ax.get_ylim() == (-1.5, 1.5)
    texts = legend_texts(ax)
    assert "real samples" in texts and "generated samples" in texts
    assert any(t.startswith("∇f (max ‖∇f‖ = ") for t in texts)
    kinds = {type(c).__name__ for c in ax.collections}
    assert "Quiver" in kinds and "PathCollection" in kinds  # arrows and scatter points
    assert len(ax.collections) >= 4  # contourf, contour lines, arrows, 2 point sets


def test_critic_landscape_without_points_or_arrows_and_for_gn_critics(ax):
    r = train(WGANConfig(method="gn", **TINY))
    with torch.no_grad():  # a GN critic needs autograd; the plot must enable it itself
        plots.critic_landscape(ax, r.critic, gradient_field=False, resolution=20)
    assert not any(type(c).__name__ == "Quiver" for c in ax.collections)
    assert ax.get_legend() is None and ax.get_xlabel() == "x1"
    with pytest.raises(ValueError, match="lim"):
        plots.critic_landscape(ax, r.critic, lim=0)
    with pytest.raises(ValueError, match="real"):
        plots.critic_landscape(ax, r.critic, real=torch.randn(5, 3))


def test_grad_norm_histogram_marks_one(ax, members):
    plots.grad_norm_histogram(ax, members[0].critic, torch.randn(100, 2), label="interp.", bins=20)
    assert ax.get_xlabel() == "‖∇f(x)‖" and ax.get_ylabel() == "count"
    assert len(ax.patches) == 20
    assert any(list(line.get_xdata()) == [1.0, 1.0] for line in ax.get_lines())
    assert legend_texts(ax) == ["interp.", "‖∇f‖ = 1"]


def test_weight_histogram_with_and_without_clip_lines(ax):
    r = train(WGANConfig(method="clip", c=0.05, **TINY))
    plots.weight_histogram(ax, r.critic, c=0.05, bins=30)
    xs = sorted(line.get_xdata()[0] for line in ax.get_lines())
    assert xs == [-0.05, 0.05]
    assert ax.get_xlabel() == "weight value" and "±c = ±0.05" in legend_texts(ax)
    n_weights = sum(p.numel() for p in r.critic.parameters() if p.ndim == 2)
    assert sum(p.get_height() for p in ax.patches) == n_weights
    other = Figure().add_subplot()
    plots.weight_histogram(other, r.critic, label="critic")
    assert other.get_lines() == [] and legend_texts(other) == ["critic"]


def test_training_curves_one_line_per_result_log_scale_for_w1(ax, members):
    plots.training_curves(ax, members[:3])
    assert len(ax.get_lines()) == 3 and ax.get_yscale() == "log"
    assert legend_texts(ax) == ["lam = 0.01", "lam = 0.03", "lam = 0.1"]
    assert ax.get_xlabel() == "generator iteration" and "W1" in ax.get_ylabel()
    other = Figure().add_subplot()
    plots.training_curves(other, members[0], "dual_w1", labels=["GP"])
    assert other.get_yscale() == "linear" and legend_texts(other) == ["GP"]
    with pytest.raises(ValueError, match="key"):
        plots.training_curves(other, members, "nope")
    with pytest.raises(ValueError, match="labels"):
        plots.training_curves(other, members[:2], labels=["a"])


def test_result_figure_has_three_labelled_panels(members):
    fig = plots.result_figure(members[2])
    assert isinstance(fig, Figure)
    axes = fig.get_axes()
    assert len(axes) == 3  # no colour bar
    for a in axes:
        assert a.get_xlabel() and a.get_ylabel() and a.get_legend() is not None and a.get_title()
    assert "lam = 0.1" in fig._suptitle.get_text() and "iteration 20/20" in fig._suptitle.get_text()


def test_sweep_grid_one_panel_per_member_titled_with_its_value(members):
    fig = plots.sweep_grid(members)
    assert isinstance(fig, Figure)
    axes = fig.get_axes()
    assert len(axes) == 8
    for a, lam in zip(axes, LAMS):
        assert a.get_title().split("\n")[0] == f"lam = {lam:g}"
        assert a.get_xlabel() == "x1" and a.get_ylabel() == "x2"
    assert axes[0].get_legend() is not None
    fig = plots.sweep_grid(members[:5], "lam", ncols=2)
    visible = [a for a in fig.get_axes() if a.axison]
    assert len(fig.get_axes()) == 6 and len(visible) == 5
    with pytest.raises(ValueError, match="name"):
        plots.sweep_grid(members, "nope")


def test_sweep_animation_has_one_frame_per_member_under_one_megabyte(members):
    before = plt.get_fignums()
    html = plots.sweep_animation(members)
    data = html.data
    frames = re.findall(r"data:image/png;base64,", data)
    assert len(frames) == len(members)
    assert len(data.encode()) < 1_000_000
    assert "animation" in data.lower()
    assert plt.get_fignums() == before  # no pyplot figure left to print a static copy
    with pytest.raises(ValueError, match="dpi"):
        plots.sweep_animation(members, dpi=0)


def test_animations_load_nothing_from_the_network(members):
    html = plots.sweep_animation(members).data
    assert not re.findall(r"(?:src|href)=\"(?:https?:)?//", html), "a CDN link is left"
    assert "font-awesome" not in html and '<i class="fa' not in html
    for title, glyph in (("Play", "\u25b6"), ("Pause", "\u275a\u275a"), ("Next frame", "\u203a")):
        assert re.search(rf'title="{title}"[^>]*>\s*<span aria-hidden="true">{glyph}</span>', html)


def test_jshtml_refuses_a_template_it_does_not_know():
    class Changed:  # an animation whose to_jshtml has no Font Awesome link any more
        def to_jshtml(self, default_mode=None):
            return '<button title="Play"><i class="fa fa-play"></i></button>'

    with pytest.raises(ValueError, match="template changed"):
        book.jshtml(Changed())


def test_gradient_norm_map_of_a_linear_critic_is_its_weight_norm_everywhere():
    lin = torch.nn.Linear(2, 1).double()
    fig = Figure()
    mesh, norms = plots.gradient_norm_map(fig.add_subplot(), lin, lim=1.0, resolution=11)
    assert norms.shape == (11, 11)
    assert torch.allclose(norms, lin.weight.norm().expand(11, 11))
    assert mesh.norm.vmin == 0.1 and mesh.norm.vmax == 10


def test_modes_covered_is_mode_coverage_of_the_samples():
    from lipbook import toy

    r = train(WGANConfig(method="gp", hidden=16, steps=10, eval_every=10, eval_samples=64,
                         device="cpu"))
    assert r.modes_covered() == toy.mode_coverage(r.samples, "8gaussians")
    swiss = train(WGANConfig(method="gp", hidden=16, steps=10, eval_every=10, eval_samples=64,
                             dataset="swissroll", device="cpu"))
    with pytest.raises(ValueError):
        swiss.modes_covered()


def test_maps_take_a_function_that_wraps_a_float32_module():
    lin = torch.nn.Linear(2, 1)  # float32
    fig = Figure()
    _, norms = plots.gradient_norm_map(fig.add_subplot(), lambda x: 2 * lin(x), lim=1.0,
                                       resolution=5)
    assert torch.allclose(norms.float(), 2 * lin.weight.norm().expand(5, 5))
    plots.critic_landscape(fig.add_subplot(), lambda x: lin(x), lim=1.0, resolution=5)
