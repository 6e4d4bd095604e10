"""The documentation site builds with warnings as errors, and its math typesets in a real browser."""

import functools
import html
import http.server
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="the docs build needs the [docs] extra")
pytest.importorskip("myst_nb", reason="the docs build needs the [docs] extra")

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "out" / "docs-browser"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built once for this module exactly as the README says (warnings are errors)."""
    out = tmp_path_factory.mktemp("docs")
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                             "-d", str(out / "doctrees"), str(ROOT / "docs"), str(out / "html")],
                            capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert result.returncode == 0, f"the docs build failed:\n{result.stderr[-5000:]}"
    return out / "html"


def _text(page: Path) -> str:
    """A page's visible text: no scripts, styles or code blocks, tags removed, entities decoded."""
    source = page.read_text(encoding="utf-8")
    source = re.sub(r"<(script|style|pre)\b.*?</\1>", " ", source, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", source))


def test_docs_have_every_section(site):
    for page in ("index", "_generated/guide", "_generated/quantizers", "_generated/api/index",
                 "_generated/notebooks/index", "_generated/references", "_generated/ledgers/index",
                 "_generated/studies/index"):
        assert (site / f"{page}.html").exists(), f"the site has no {page}.html"
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
    assert notebooks == sorted(p.stem for p in (site / "_generated" / "notebooks").glob("[0-9]*.html"))


def test_api_reference_renders_docstring_markup(site):
    text = _text(site / "_generated" / "api" / "tinyquant.autograd.html")
    assert "iterative" in text and "topological" in text            # the module docstring is there
    assert ":class:" not in text and ":func:" not in text and "``" not in text, "raw reST left in the page"


def test_quantizer_page_lists_every_registered_quantizer_and_ste(site):
    from tinyquant.quant import QUANTIZERS, STES

    text = _text(site / "_generated" / "quantizers.html")
    missing = [name for name in [*QUANTIZERS, *STES] if name not in text]
    assert not missing, f"the quantizer reference misses {missing}"


def test_math_is_served_by_the_site_not_a_cdn(site):
    page = (site / "_generated" / "notebooks" / "01_autograd_from_scratch.html").read_text(encoding="utf-8")
    sources = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', page, flags=re.I)
    assert sources and all(not s.startswith(("http:", "https:", "//")) for s in sources), sources
    assert (site / "_static" / "mathjax" / "tex-chtml.js").exists()


class _URL(str):
    site: Path


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture()
def served(site):
    """The built site over HTTP on the loopback interface (as a student's browser would load it)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = _URL(f"http://127.0.0.1:{server.server_address[1]}")
    url.site = site
    yield url
    server.shutdown()
    thread.join(timeout=10)


def _headless(url, tmp_path, *extra):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000", *extra, url]
    return subprocess.run([_chromium(), *flags], capture_output=True, text=True, timeout=180)


@pytest.mark.skipif(_chromium() is None, reason="no Chromium on this machine (CI installs Debian's chromium)")
def test_equations_are_typeset_in_a_headless_browser(served, tmp_path):
    url = f"{served}/_generated/notebooks/01_autograd_from_scratch.html"
    built = _text(Path(served.site) / "_generated" / "notebooks" / "01_autograd_from_scratch.html")
    assert "\\frac" in built, "the page holds no TeX to typeset: pick a page with equations"
    raw = tmp_path / "rendered.html"
    dom = _headless(url, tmp_path, "--dump-dom")
    assert dom.returncode == 0 and "<body" in dom.stdout, f"chromium failed: {dom.stderr[-2000:]}"
    raw.write_text(dom.stdout, encoding="utf-8")
    assert dom.stdout.count("<mjx-container") >= 20, "MathJax typeset (almost) nothing"
    text = _text(raw)
    for leftover in ("$$", "\\frac", "\\partial"):
        assert leftover not in text, f"raw TeX {leftover!r} left in the rendered page"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "01_autograd_from_scratch.png"
    result = _headless(url, tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", "--hide-scrollbars")
    assert result.returncode == 0 and shot.exists() and shot.stat().st_size > 10_000, result.stderr[-2000:]
