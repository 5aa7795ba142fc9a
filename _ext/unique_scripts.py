"""A Sphinx extension: each page's inline ``<script>`` blocks appear once.

Why: under Jupyter Book 1 (Sphinx 7.4), the inline configuration scripts of sphinx-thebe and
sphinx-togglebutton end up twice in every page's ``<head>``. The second copy of sphinx-thebe's
``const THEBE_JS_URL = ...`` is a ``SyntaxError`` ("Identifier 'THEBE_JS_URL' has already been
declared") in every reader's browser console. This drops exact repeats (same file, or same
inline body, and the same attributes, whatever their priority; one copy names its file None,
the other "") before the page is written, keeping the copy that comes first in the page.
tests/test_browser.py fails on any console error, so it checks that this keeps working.
"""

from __future__ import annotations


def _key(script) -> tuple:
    # Sphinx's _JavaScript: a file name (None or "" when inline: the two copies differ there)
    # and attributes (body, async, ...); the priority is left out
    return str(script.filename or ""), tuple(sorted(script.attributes.items()))


def drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in sorted(scripts, key=lambda s: s.priority):  # the page's order (stable sort)
        if _key(script) not in seen:
            seen.add(_key(script))
            unique.append(script)
    scripts[:] = unique  # why in place: Sphinx restores its own list after each page


def setup(app):
    app.connect("html-page-context", drop_repeated_scripts, priority=900)  # after the others
    return {"parallel_read_safe": True, "parallel_write_safe": True}
