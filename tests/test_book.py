"""The book as a whole: its configuration, table of contents and bibliography (fast), and one
full executed build with `-W` (marker `book`, several minutes; conftest.py's `built_book`, shared
with tests/test_browser.py) whose pages are then inspected.

`make test` runs the fast tests with the unit tests and the `book` ones last.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK_REPOSITORY = "lipschitz-lectures/lipschitz-lectures"
BIB_KEYS = {
    "arjovsky2017wgan", "gulrajani2017improved", "petzka2018regularization",
    "miyato2018spectral", "wu2021gradient", "bhaskara2022gran", "anil2019sorting",
    "scaman2018lipschitz", "fazlyab2019lipsdp", "villani2009optimal", "flamary2021pot",
    "tsuzuku2018margin", "bjorck1971iterative", "sedghi2019singular", "cisse2017parseval",
    "golub2013matrix", "zheng2022lipschitz", "goodfellow2014gan", "heinonen2005lectures",
    "rudin1976principles",
}


def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def toc() -> dict:
    return yaml.safe_load((ROOT / "_toc.yml").read_text())


def toc_files() -> list[str]:
    """Every page of _toc.yml, root first, as a path without suffix (e.g. 'book/intro')."""
    t = toc()
    files = [t["root"]]
    for part in t.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    files += [c["file"] for c in t.get("chapters", [])]
    return [re.sub(r"\.(md|ipynb)$", "", f) for f in files]


def source(page: str) -> Path:
    found = [p for p in (ROOT / f"{page}.md", ROOT / f"{page}.ipynb") if p.exists()]
    assert len(found) == 1, f"{page}: expected one of {page}.md, {page}.ipynb"
    return found[0]


def notebook_pages() -> list[str]:
    return [f for f in toc_files() if source(f).suffix == ".ipynb"]


def page_text(path: Path) -> str:
    """The MyST text of a page: a .md file, or a notebook's markdown cells."""
    if path.suffix == ".md":
        return path.read_text()
    nb = nbformat.read(path, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


# --- configuration, table of contents, bibliography (no build) ------------------------------


def test_config_is_valid_for_jupyter_book():
    from jupyter_book.config import validate_yaml

    validate_yaml(config(), raise_on_errors=True)


def test_config_settings():
    c = config()
    ex = c["execute"]
    assert ex["execute_notebooks"] == "force"
    assert ex["raise_on_error"] is True and not ex.get("allow_errors", False)
    assert ex["timeout"] >= 300
    assert ex["stderr_output"] in {"warn", "error", "severe"}, "stderr must fail a -W build"
    assert c["only_build_toc_files"] is True
    assert {".*", "**/.*", "README.md", "_build", ".venv"} <= set(c["exclude_patterns"])
    assert c["repository"]["url"] == f"https://github.com/{BOOK_REPOSITORY}"
    assert c["repository"]["branch"] == "main"
    assert not c["repository"].get("path_to_book"), "it would double book/ in Colab links"
    assert c["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert c["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert c["html"]["use_repository_button"] is True
    assert c["bibtex_bibfiles"] == ["references.bib"]


def test_toc_lists_every_page_and_nothing_else():
    listed = toc_files()
    assert listed[0] == "book/intro"
    for page in listed:
        source(page)  # exists, once
    pages = {str(p.relative_to(ROOT).with_suffix("")) for p in (ROOT / "book").glob("*.md")}
    pages |= {str(p.relative_to(ROOT).with_suffix("")) for p in (ROOT / "book").glob("*.ipynb")}
    assert sorted(pages - set(listed)) == [], "pages missing from _toc.yml are never built"
    assert len(listed) == len(set(listed))


def test_toc_parts():
    t = toc()
    assert t["format"] == "jb-book"
    captions = [p["caption"] for p in t["parts"]]
    order = ["Foundations", "Enforcing the constraint", "Beyond", "Appendix"]
    assert captions == [c for c in order if c in captions], "parts out of order or unknown"
    for part in t["parts"]:
        assert part.get("chapters"), f"part {part['caption']!r} is empty (a build warning)"


def test_one_bibliography_on_the_references_page():
    holders = [str(source(p).relative_to(ROOT)) for p in toc_files()
               if "{bibliography}" in page_text(source(p))]
    assert holders == ["book/references.md"]


def test_references_bib_parses_with_the_required_keys():
    from pybtex.database import parse_file

    text = (ROOT / "references.bib").read_text()
    keys = re.findall(r"^@\w+\{([^,\s]+),", text, re.M)
    assert len(keys) == len(set(keys)), "duplicate keys"
    data = parse_file(str(ROOT / "references.bib"))
    assert BIB_KEYS <= set(data.entries)
    for key, entry in data.entries.items():
        assert entry.fields.get("title") and entry.fields.get("year"), key
        assert entry.persons.get("author") or entry.persons.get("editor"), key


def test_cited_keys_exist():
    from pybtex.database import parse_file

    known = set(parse_file(str(ROOT / "references.bib")).entries)
    for page in toc_files():
        for keys in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", page_text(source(page))):
            for key in keys.split(","):
                assert key.strip() in known, f"{page} cites unknown key {key.strip()!r}"


# --- the executed build -------------------------------------------------------------------


@pytest.fixture(scope="module")
def build(built_book):
    """The session's executed build (conftest.py): ``(returncode, log, html folder)``."""
    return built_book


def read_html(html: Path, page: str) -> str:
    return (html / f"{page}.html").read_text()


@pytest.mark.book
def test_build_succeeds_without_warnings(build):
    rc, log, html = build
    problems = [line for line in log.splitlines()
                if re.search(r"(WARNING|ERROR|CRITICAL|SEVERE):", line)]
    assert rc == 0 and not problems, "\n".join(problems) or log[-5000:]
    assert (html / "index.html").exists()


@pytest.mark.book
def test_every_toc_entry_has_a_page(build):
    _, _, html = build
    missing = [p for p in toc_files() if not (html / f"{p}.html").exists()]
    assert not missing


@pytest.mark.book
@pytest.mark.parametrize("page", notebook_pages())
def test_chapter_page_has_figures(build, page):
    _, _, html = build
    text = read_html(html, page)
    srcs = re.findall(r'<img[^>]*\ssrc="([^"]+)"', text)
    figures = [s for s in srcs if s.startswith("data:") or "_images/" in s]
    assert figures, f"{page}: no figure on the page (was MPLBACKEND set?)"
    for s in figures:
        if not s.startswith("data:"):
            assert (html / page).parent.joinpath(s).resolve().exists(), s


@pytest.mark.book
@pytest.mark.parametrize("page", notebook_pages())
def test_chapter_page_has_rendered_math(build, page):
    _, _, html = build
    text = read_html(html, page)
    assert re.search(r'<script[^>]+src="[^"]*mathjax[^"]*"', text, re.I), "no MathJax script"
    assert re.search(r'class="math[^"]*"', text), "no math markup"
    assert "$$" not in re.sub(r"<script.*?</script>", "", text, flags=re.S), "raw $$ left"


@pytest.mark.book
@pytest.mark.parametrize("page", notebook_pages())
def test_chapter_page_launch_links(build, page):
    _, _, html = build
    text = read_html(html, page)
    colab = (f"https://colab.research.google.com/github/{BOOK_REPOSITORY}/blob/main/"
             f"{page}.ipynb")
    assert f'href="{colab}"' in text, f"no Colab link {colab}"
    assert page.startswith("book/") and colab.endswith(f"/blob/main/book/{Path(page).name}.ipynb")
    binder = f"https://mybinder.org/v2/gh/{BOOK_REPOSITORY}/main?urlpath=lab/tree/{page}.ipynb"
    assert f'href="{binder}"' in text, f"no Binder link {binder}"


@pytest.mark.book
@pytest.mark.parametrize("page", notebook_pages())
def test_chapter_page_shows_no_errors(build, page):
    _, _, html = build
    text = read_html(html, page)
    assert "Traceback (most recent call last)" not in text
    assert "output stderr" not in text, "a cell wrote to stderr"
    assert not re.search(r"\{(glue|cite|eq|numref)[:}]", text), "a role was not rendered"


@pytest.mark.book
def test_citations_link_to_the_bibliography(build):
    _, _, html = build
    refs = html / "book" / "references.html"
    assert refs.exists()
    anchors = set(re.findall(r'id="([^"]+)"', refs.read_text()))
    for page in toc_files():
        text = read_html(html, page)
        cites = re.findall(r'<span class="bibtex-citation"[^>]*>(.*?)</span>', text, re.S)
        if "{cite" in page_text(source(page)):
            assert cites, f"{page} cites but shows no citation"
        for cite in cites:
            for href in re.findall(r'href="([^"]+)"', cite):
                target, _, anchor = href.partition("#")
                linked = (html / page).parent / target if target else html / f"{page}.html"
                assert linked.resolve() == refs.resolve(), f"{page}: {href}"
                assert anchor in anchors, f"{page}: {href} points to no entry"


@pytest.mark.book
def test_chapter_1_has_its_static_animation(build):
    _, _, html = build
    text = read_html(html, "book/01_lipschitz_continuity")
    assert "new Animation(" in text or "Animation(" in text, "no to_jshtml animation"
    assert len(re.findall(r"data:image/png;base64", text)) >= 2, "animation has no frames"


@pytest.mark.book
def test_pages_load_nothing_from_the_network(build):
    """Scripts, stylesheets, images and frames all come from _build/html (links to other
    sites are fine: a reader follows them on purpose). tests/test_browser.py checks the same
    in a browser, with every request outside 127.0.0.1 failing."""
    _, _, html = build
    tags = r'<(?:script|link|img|iframe|source)\b[^>]*?\s(?:src|href)="(https?:)?//[^"]*"'
    for page in toc_files():
        text = read_html(html, page)
        external = [m.group(0) for m in re.finditer(tags, text)
                    if not m.group(0).startswith("<link") or 'rel="stylesheet"' in m.group(0)
                    or 'rel="preload"' in m.group(0)]
        assert not external, f"{page} loads {external}"
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists()


EXPLORER_BUDGET = 1_500_000  # bytes an explorer may add to a chapter page (issue 17)


@pytest.mark.book
@pytest.mark.parametrize("page, param", [
    ("book/03_weight_clipping", "c"), ("book/04_gradient_penalty", "lam"),
    ("book/05_spectral_normalization", "n_power_iterations"),
    ("book/06_gradient_normalization", "eps")])
def test_slider_chapter_has_one_explorer_within_its_size_budget(build, page, param):
    text = read_html(build[2], page)
    starts = [m.start() for m in re.finditer(r'<div class="lipbook-explorer"', text)]
    assert len(starts) == 1, f"{page}: {len(starts)} explorers"
    data_end = text.index("</script>", text.index("lipbook-explorer-data", starts[0]))
    end = text.index("</script>", data_end + 1) + len("</script>")  # then the renderer
    assert f'data-param="{param}"' in text[starts[0]:starts[0] + 300]
    assert end - starts[0] <= EXPLORER_BUDGET, f"{page}: the explorer has {end - starts[0]} bytes"
    assert "anim-slider" not in text, f"{page} still has a frame player"
