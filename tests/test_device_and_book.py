"""lipbook.device and lipbook.book."""

import numpy as np
import pytest
import torch

import lipbook
from lipbook.book import glue, html_table


def test_env_var_overrides_and_is_read_on_every_call(monkeypatch):
    monkeypatch.setenv("LIPBOOK_DEVICE", "cpu")
    assert lipbook.get_device() == torch.device("cpu")
    monkeypatch.delenv("LIPBOOK_DEVICE")
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert lipbook.get_device().type == expected


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "tpu", "cuda:99"])
def test_bad_or_unavailable_device_names_the_allowed_values(monkeypatch, bad):
    monkeypatch.setenv("LIPBOOK_DEVICE", bad)
    with pytest.raises(ValueError, match="LIPBOOK_DEVICE") as err:
        lipbook.get_device()
    assert "available here: cpu" in str(err.value)


def test_seed_everything_makes_global_draws_repeat():
    g1 = lipbook.seed_everything(3)
    a = (torch.rand(3), np.random.rand(), torch.rand(2, generator=g1))
    g2 = lipbook.seed_everything(3)
    b = (torch.rand(3), np.random.rand(), torch.rand(2, generator=g2))
    assert torch.equal(a[0], b[0]) and a[1] == b[1] and torch.equal(a[2], b[2])
    with pytest.raises(ValueError, match="seed"):
        lipbook.seed_everything(-1)


def test_seed_everything_takes_numpy_integers_and_refuses_what_numpy_cannot_seed():
    lipbook.seed_everything(np.int64(5))
    a = torch.rand(2)
    torch.manual_seed(5)
    assert torch.equal(a, torch.rand(2))
    for bad in (2**40, 1.0, True):
        with pytest.raises(ValueError, match="seed"):
            lipbook.seed_everything(bad)


def test_book_seed_derives_every_chapter_seed_from_lipbook_seed(monkeypatch):
    monkeypatch.delenv("LIPBOOK_SEED", raising=False)
    assert [lipbook.book_seed(i) for i in (0, 1, 7)] == [0, 1, 7]  # the published book's seeds
    assert lipbook.book_seed() == 0
    monkeypatch.setenv("LIPBOOK_SEED", "3")
    assert [lipbook.book_seed(i) for i in (0, 1, 7)] == [3000, 3001, 3007]  # read on every call
    monkeypatch.setenv("LIPBOOK_SEED", " ")
    assert lipbook.book_seed(2) == 2  # blank means the default


@pytest.mark.parametrize("bad", ["-1", "x", "1.5", "99999999"])
def test_a_bad_lipbook_seed_names_the_variable_and_the_range(monkeypatch, bad):
    monkeypatch.setenv("LIPBOOK_SEED", bad)
    with pytest.raises(ValueError, match=r"LIPBOOK_SEED=.* must be an integer in \[0, "):
        lipbook.book_seed()


@pytest.mark.parametrize("bad", [-1, 1000, 1.0, True])
def test_book_seed_index_is_an_int_below_the_stride(bad):
    with pytest.raises(ValueError, match=r"i must be an int in \[0, 1000\)"):
        lipbook.book_seed(bad)


def test_glue_returns_plain_python_numbers():
    # myst-nb is installed in the test environment, so glue really runs (outside a kernel it
    # only displays); what matters for the -W build is the type it stores
    assert type(glue("x", torch.tensor(1.5))) is float
    assert type(glue("y", np.float64(2.0))) is float
    assert type(glue("z", np.int64(3))) is int
    assert glue("s", "text") == "text"
    with pytest.raises(ValueError, match="scalar"):
        glue("bad", torch.ones(2))


def test_html_table_has_the_caption_header_and_one_row_per_row():
    html = html_table(["a", "b<br>c"], [[1, 2.5], ["x", "y"]], "the caption").data
    assert html.startswith("<table><caption>the caption</caption>")
    assert "<thead><tr><th>a</th><th>b<br>c</th></tr></thead>" in html  # cells are HTML
    assert html.count("<tr>") == 3 and "<td>2.5</td>" in html and "<td>y</td>" in html
    with pytest.raises(ValueError, match=r"rows\[1\] has 1 cells, the header 2"):
        html_table(["a", "b"], [[1, 2], [3]])


def test_median_and_median_range_against_the_statistics_module():
    import math
    import statistics

    from lipbook.book import format_value, median, median_range

    values = [0.31, 0.12, 2.5, 0.7]
    assert median(values) == statistics.median(values)
    assert median_range(values) == (f"{statistics.median(values):.3g} "
                                    f"({min(values):.3g} – {max(values):.3g})")
    # non-finite values (diverged runs) are left out; none left: "diverged"
    assert median_range([math.nan, 1.0, math.inf, 3.0]) == "2 (1 – 3)"
    assert median_range([math.nan, math.inf]) == "diverged"
    assert format_value(None) == "—" and format_value(math.inf) == "∞"
    assert format_value(np.float64(1 / 3), 4) == "0.3333"
    with pytest.raises(ValueError, match="no values"):
        median([])


def test_trend_verdict_follows_the_sign_and_the_tolerance():
    from lipbook.results import trend, trend_verdict

    falling = trend([4.0, 4.0, 2.0, 2.0, 1.0, 1.0])  # -0.5 exactly
    assert trend_verdict(falling) == "still falling (50 % below the third before)"
    assert trend_verdict(0.2, tol=0.1).startswith("still rising (20 % above")
    assert trend_verdict(-0.04, tol=0.05).startswith("levelled off (within 4 %")
    with pytest.raises(ValueError, match="tolerance"):
        trend_verdict(0.1, tol=0)
