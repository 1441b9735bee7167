"""The web page in a real browser: Debian's chromium, headless, driven by playwright
(python, no downloaded browsers), against a real `boussole serve` process."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("BOUSSOLE_CHROMIUM", "/usr/bin/chromium"))
# --headless is passed by playwright (headless=True); the profile is a new empty folder
# given as launch_persistent_context's user_data_dir (playwright refuses --user-data-dir).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_DIR = Path(os.environ.get("BOUSSOLE_SCREENSHOTS", "/tmp"))
PROBLEM_FR = "Nos habitants âgés n'arrivent pas à utiliser les services administratifs en ligne"
PROBLEM_EN = "Our older residents cannot use the city's new online services"


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def browser_missing(reason: str) -> None:
    """No browser: fail on CI, where the page must be tested; elsewhere a skip whose
    reason stands out in the summary (pytest -ra), never a quiet pass."""
    if on_ci():
        pytest.fail(f"CI=true and {reason}: the web page must be tested in a browser on CI", pytrace=False)
    pytest.skip(f"WARNING: the web page was NOT tested in a browser: {reason}")


# Session-scoped like `server`, so it is set up first: a missing browser skips before
# the model and index are built (the CI check below runs a child pytest on it).
@pytest.fixture(scope="session")
def playwright():
    if not CHROMIUM.exists():
        browser_missing(f"{CHROMIUM} is absent (run tests/ensure_chromium.sh or apt-get install chromium)")
    try:
        from playwright import sync_api
    except ImportError:
        browser_missing("the playwright package is not installed")
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture
def browser(playwright):
    """Opens a chromium with a new, empty profile; `browser(locale)` gives its context."""
    opened = []

    def launch(locale: str):
        profile = tempfile.mkdtemp(prefix="boussole-chromium-")
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            locale=locale,
            viewport={"width": 1100, "height": 900},
        )
        opened.append((context, profile))
        return context

    yield launch
    for context, profile in opened:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


def new_page(browser, locale: str, origin: str = "http://127.0.0.1"):
    page = browser(locale).new_page()
    # Nothing may be fetched from outside the service.
    outside: list[str] = []
    # (blob: URLs of the page's own origin, e.g. ReDoc's search worker, are local.)
    page.on("request", lambda r: outside.append(r.url) if not r.url.removeprefix("blob:").startswith(origin) else None)
    # Script errors, and console errors such as a Content-Security-Policy refusal.
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page, outside, errors


def test_ask_a_problem_read_the_answer_open_the_context(browser, server):
    page, outside, errors = new_page(browser, "fr-FR")
    page.goto(server.url + "/")
    box = page.get_by_label("Décrivez le problème de votre ville")
    assert box.is_visible()
    box.fill(PROBLEM_FR)
    box.press("Enter")  # Enter submits; no mouse involved

    page.wait_for_selector("#answer article.item", timeout=60_000)
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", name="Principes").is_visible()
    assert page.get_by_role("heading", name="Mesures").is_visible()
    citations = page.locator("#answer cite").all_inner_texts()
    assert citations and all(c.strip() for c in citations)
    assert any(c.startswith("HSP/HA.2/14, para.") for c in citations)
    assert page.locator("#answer .group h3").count() >= 1  # measures grouped by actor
    assert page.locator("#status").get_attribute("aria-live") == "polite"

    # "show in context": keyboard focus + Enter, the paragraph opens with its neighbours
    button = page.locator("#answer button.show-context").first
    button.focus()
    page.keyboard.press("Enter")
    panel_id = button.get_attribute("aria-controls")
    page.wait_for_selector(f"#{panel_id} ol.neighbours li.current", timeout=30_000)
    assert button.get_attribute("aria-expanded") == "true"
    assert page.locator(f"#{panel_id} ol.neighbours li").count() >= 2
    # one summary line, and the answer stops: the next items wait behind "more"
    assert page.locator("#status .notice p").count() == 2  # the summary and the language switch
    shown = page.locator("#answer article.item:visible").count()
    assert page.locator("#more-items").is_hidden()
    tab_to(page, "#show-more")
    page.keyboard.press("Enter")
    assert page.locator("#more-items").is_visible()
    assert page.evaluate("document.activeElement.id") == "h-more"
    assert page.locator("#more-items article.item").count() >= 1
    assert page.locator("#answer article.item:visible").count() > shown
    button.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOT_DIR / "boussole-fr.png"))
    page.screenshot(path=str(SCREENSHOT_DIR / "boussole-fr-full.png"), full_page=True)
    assert not errors, errors
    assert not outside, outside


def test_english_interface_and_out_of_scope_message(browser, server):
    page, outside, errors = new_page(browser, "en-GB")
    page.goto(server.url + "/")
    assert page.locator("html").get_attribute("lang") == "en"
    box = page.get_by_label("Describe your city's problem")
    box.fill("football results from last weekend")
    box.press("Enter")
    page.wait_for_selector("#status .notice", timeout=60_000)
    notice = page.locator("#status .notice").inner_text()
    page.screenshot(path=str(SCREENSHOT_DIR / "boussole-en-out-of-scope.png"))
    assert "Outside the Guidelines" in notice, notice
    # the closest passages are shown, under a heading that says they are weak matches
    assert page.locator("#answer section.weak article.item").count() == 5
    assert "weak matches" in page.locator("#h-weak").inner_text()
    assert page.locator("#h-principles, #h-measures").count() == 0
    assert not errors, errors
    assert not outside, outside


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching `selector` has the focus: keyboard only."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_english_question_english_answer_french_original_and_switch(browser, server):
    """Keyboard only: an English question gets English passages, each translated one saying
    so and opening onto the authoritative French text; the switch shows the whole answer
    in French, and back."""
    page, outside, errors = new_page(browser, "en-GB")
    page.goto(server.url + "/")
    page.keyboard.type(PROBLEM_EN)  # the problem box has the focus on load
    page.keyboard.press("Enter")
    page.wait_for_selector("#answer article.item", timeout=60_000)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Principles").is_visible()
    langs = page.locator("#answer article.item").evaluate_all("(items) => items.map((i) => i.lang)")
    assert langs and set(langs) == {"en"}, langs
    citations = page.locator("#answer article.item > p.citation cite").all_inner_texts()
    assert any(c.startswith("HSP/HA.2/14, para.") for c in citations), citations
    assert not any("pilier" in c or "principe" in c or "annexe" in c for c in citations), citations
    assert "Passages are shown in the language of your question" in page.locator("footer").inner_text()

    first = page.locator("#answer details.original").first
    summary = first.locator("summary")
    assert summary.inner_text() == "Unofficial English translation — French original"
    tab_to(page, "#answer details.original summary")
    page.keyboard.press("Enter")
    assert first.get_attribute("open") is not None
    original = first.locator("blockquote")
    assert original.get_attribute("lang") == "fr" and original.is_visible()
    item_id = page.locator("#answer article.item").first.get_attribute("data-id")
    french = page.request.get(f"{server.url}/v1/chunks/{item_id.replace('-en:', ':')}").json()["chunk"]
    assert original.inner_text().strip() == french["text"] and french["lang"] == "fr"
    page.screenshot(path=str(SCREENSHOT_DIR / "boussole-en.png"))

    tab_to(page, "#switch-lang")
    assert page.locator("#switch-lang").inner_text() == "Afficher en français"
    page.keyboard.press("Enter")
    page.wait_for_selector("html[lang=fr] #answer article.item[lang=fr]", timeout=60_000)
    page.wait_for_selector("#answer article.item[lang=fr]", timeout=60_000)
    assert page.get_by_role("heading", name="Principes").is_visible()
    assert page.locator("#answer article.item[lang=en]").count() == 0
    assert page.locator("#answer details.original").count() == 0  # French is the original
    assert page.evaluate("document.activeElement.id") == "switch-lang"  # focus kept for the keyboard
    assert page.locator("#switch-lang").inner_text() == "Show in English"
    page.keyboard.press("Enter")
    page.wait_for_selector("html[lang=en] #answer article.item[lang=en]", timeout=60_000)
    assert page.locator("#answer article.item[lang=en]").count() >= 1
    assert not errors, errors
    assert not outside, outside


def test_empty_problem_is_explained_not_sent(browser, server):
    page, _, errors = new_page(browser, "fr-FR")
    page.goto(server.url + "/")
    page.get_by_label("Décrivez le problème de votre ville").press("Enter")
    page.wait_for_selector("#status .notice.error")
    assert "quelques mots" in page.locator("#status").inner_text()
    assert not errors, errors


def test_api_docs_render_from_the_server_alone(browser, server):
    """/docs (Swagger UI) and /redoc (ReDoc) work offline: every request they make goes to
    the server itself, and the security policy refuses nothing they need."""
    page, outside, errors = new_page(browser, "en-GB", origin=server.url)
    page.goto(server.url + "/docs")
    page.wait_for_selector(".swagger-ui .opblock-summary-path", timeout=60_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/v1/search" in p for p in paths), paths
    page.screenshot(path=str(SCREENSHOT_DIR / "boussole-docs.png"))

    page.goto(server.url + "/redoc")
    page.wait_for_selector("h1:has-text('Boussole')", timeout=60_000)
    assert page.get_by_text("Passages of the corpus most relevant").count() >= 1
    page.screenshot(path=str(SCREENSHOT_DIR / "boussole-redoc.png"))
    assert not outside, outside
    assert not errors, errors


@pytest.mark.parametrize(("ci", "exit_code", "said"), [("true", 1, "must be tested"), ("", 0, "NOT tested")])
def test_a_missing_browser_fails_on_ci_and_is_loud_elsewhere(tmp_path, ci, exit_code, said):
    """Runs this file's page test in a child pytest with no browser; the fixture gives up
    before any server is started, so this is quick."""
    import subprocess
    import sys

    env = {**os.environ, "CI": ci, "BOUSSOLE_CHROMIUM": str(tmp_path / "no-chromium")}
    env.pop("PYTEST_ADDOPTS", None)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            f"{__file__}::test_empty_problem_is_explained_not_sent",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == exit_code, run.stdout + run.stderr
    assert said in run.stdout, run.stdout


@pytest.mark.parametrize(("ci", "exit_code"), [("true", 1), ("", 0)])
def test_ensure_chromium_fails_on_ci_when_it_cannot_install(tmp_path, ci, exit_code):
    """As a non-root user without chromium: exit 1 on CI, a loud warning elsewhere."""
    import subprocess

    fake_id = tmp_path / "id"
    fake_id.write_text("#!/bin/sh\necho 1000\n")
    fake_id.chmod(0o755)
    script = Path(__file__).with_name("ensure_chromium.sh")
    env = {
        **os.environ,
        "CI": ci,
        "BOUSSOLE_CHROMIUM": str(tmp_path / "no-chromium"),
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
    }
    run = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == exit_code, run.stderr
    assert "chromium" in run.stderr and ("error" if ci else "WARNING") in run.stderr
