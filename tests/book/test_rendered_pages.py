"""The rendered book as a reader's browser shows it (headless Chromium, after `make book`).

Every page of ``_build/html`` is loaded with JavaScript on (MathJax runs) and its final DOM
checked: no raw ``\\(``, ``\\[`` or ``$$`` left (a formula MathJax did not typeset), every
image present, every internal link pointing at an existing page and anchor, each chapter's
provenance sentence present, no Python warning or machine path in any output. Skips, saying
why, where the book is not built or no Chromium is installed (Debian: ``apt install
chromium``). A deliberate mutation (a broken figure, MathJax missing) shows the checks fail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(b)), None)

pytestmark = [
    pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (apt install chromium)"),
    pytest.mark.skipif(not (HTML / "index.html").exists(),
                       reason="the book is not built (run `make book` first)"),
]

#: text that must never reach a reader
FORBIDDEN = [re.compile(p) for p in (r"/work/", r"/home/\w+", r"/root/", r"site-packages",
                                     r"\w+Warning:", r"Traceback \(most recent call last\)")]
RAW_MATH = re.compile(r"\\\(|\\\[|\$\$")


def render(page: Path) -> str:
    """The page's DOM after its scripts ran (MathJax included)."""
    for _ in range(3):  # a loaded machine now and then dumps before the page is in
        result = subprocess.run(
            [BROWSER, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--allow-file-access-from-files", "--virtual-time-budget=15000", "--dump-dom",
             page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        if "bd-article" in result.stdout or "http-equiv" in result.stdout.lower():
            break
    assert "bd-article" in result.stdout, f"{page}: the page body never rendered"
    return result.stdout


class Page(HTMLParser):
    """Visible text (outside scripts and styles), image sources, links and element ids."""

    def __init__(self):
        super().__init__()
        self.text, self.images, self.links, self.ids = [], [], [], set()
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag in ("script", "style", "mjx-assistive-mml", "noscript"):
            self._skip += 1
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "mjx-assistive-mml", "noscript") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse(dom: str) -> Page:
    page = Page()
    page.feed(dom)
    return page


def problems(page_path: Path, dom: str, root: Path = HTML) -> list[str]:
    """What is wrong with one rendered page."""
    page, out = parse(dom), []
    text = " ".join(page.text)
    if RAW_MATH.search(text):
        out.append(f"raw LaTeX left: {RAW_MATH.search(text).group(0)!r}")
    for pattern in FORBIDDEN:
        if pattern.search(text):
            out.append(f"{pattern.pattern!r} in the page text")
    for src in page.images:
        if src.startswith("data:") or urlparse(src).scheme in ("http", "https"):
            continue
        target = (page_path.parent / unquote(urlparse(src).path)).resolve()
        if not target.is_file() or target.stat().st_size == 0:
            out.append(f"image {src} missing")
    for href in page.links:
        url = urlparse(href)
        if url.scheme or href.startswith(("mailto:", "#")) and not href[1:]:
            continue
        target = (page_path.parent / unquote(url.path)).resolve() if url.path else page_path
        if not str(target).startswith(str(root.resolve())):
            continue  # the source files of the repository are not part of the site
        if not target.exists():
            out.append(f"link {href} points at a missing file")
    return out


def pages() -> list[Path]:
    """Every page of the site, less Sphinx's own (search, index) and redirect stubs."""
    return sorted(p for p in HTML.rglob("*.html")
                  if not any(part.startswith("_") for part in p.relative_to(HTML).parts[:-1])
                  and p.name not in ("search.html", "genindex.html")
                  and 'http-equiv="refresh"' not in p.read_text().lower())


def chapter_pages() -> list[Path]:
    """The pages of chapters that show an experiment's results (their script prints its
    provenance)."""
    return sorted(HTML / "book" / script.parent.name / f"{script.stem}.html"
                  for script in (ROOT / "book").glob("*/*.py")
                  if "provenance_markdown" in script.read_text())


def test_every_page_renders_cleanly():
    failures = {}
    rendered = {}
    for path in pages():
        rendered[path] = dom = render(path)
        found = problems(path, dom)
        if found:
            failures[str(path.relative_to(HTML))] = found
    assert not failures, failures
    # anchors of internal links exist on their pages
    missing = []
    for path, dom in rendered.items():
        for href in parse(dom).links:
            url = urlparse(href)
            if url.scheme or not url.fragment or not url.path.endswith(".html"):
                continue
            target = (path.parent / unquote(url.path)).resolve()
            if target in rendered and url.fragment not in parse(rendered[target]).ids:
                missing.append(f"{path.name}: {href}")
    assert not missing, missing


def test_every_chapter_says_where_its_numbers_come_from():
    for path in chapter_pages():
        text = " ".join(parse(render(path)).text)
        assert ("Loaded from the results store" in text
                or "Computed in this run" in text), path


def test_a_broken_figure_or_formula_fails(tmp_path):
    """The mutation: a copy of a chapter with its first figure's file removed and MathJax's
    script pointing nowhere must be reported."""
    site = tmp_path / "html"
    shutil.copytree(HTML, site)
    page = next(p for p in sorted((site / "book").glob("*/*.html"))
                if "<img" in p.read_text() and "math" in p.read_text())
    original = problems(page, render(page), root=site)
    assert original == [], original
    first = parse(page.read_text()).images[0]
    (page.parent / unquote(urlparse(first).path)).unlink()
    page.write_text(page.read_text().replace("mathjax/tex-chtml.js", "mathjax/missing.js"))
    found = problems(page, render(page), root=site)
    assert any(f.startswith("image ") for f in found), found
    assert any(f.startswith("raw LaTeX") for f in found), found
