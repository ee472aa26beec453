"""Browser tests: Debian's chromium, headless, driven by Playwright against pytest-django's live server.

Playwright's sync API runs an event loop in this thread, so Django's async-safety
check must be told that the ORM calls made here (test data, assertions) are fine.
"""

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Monday 1 March 2027, 09:00 in New York. The clock ticks from there, so the browser's
# session cookie (dated by the server) stays valid and the live server sees a fixed day.
NOW = datetime(2027, 3, 1, 14, 0, tzinfo=UTC)


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason="needs Debian's chromium at /usr/bin/chromium (`make test` installs it as root)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module; Playwright's loop is closed before other modules run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def page(browser, live_server, clock):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone(browser, live_server, clock):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=live_server.url, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def log_in(page, username: str, password: str = "pw-for-tests-1") -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


# --- every page a browser test shows is checked the same way --------------------------------------

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# Internal codes that must never reach a page, and the look of a Python dict or list printed raw.
INTERNAL_CODES = re.compile(r"non_responder|insufficient_data|no_benefit|session_rescheduled|too_late")
REPR = re.compile(r"\{'[^']*': |\[\{'|\['[^']*'(, '|\])|&#x27;[a-z_]+&#x27;: ")
SNAKE = re.compile(r"(?<![\w@./:-])[a-z]+(?:_[a-z0-9]+)+(?![\w@.-])")


def check_page(page, name: str | None = None) -> None:
    """axe-core finds no violation of any impact, no internal code or repr is in the HTML, and no
    snake_case code is in the text a user reads; then the screenshot, if named."""
    html = page.content()  # before axe's own script is added to the page
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    violations = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]
    assert violations == [], f"{page.url}: axe found\n" + "\n".join(violations)
    # axe's own script stays in the page after a check; data islands (json_script) have an id and stay.
    html = re.sub(r"<script(?![^>]*\bid=)[^>]*>.*?</script>", "", html, flags=re.S)
    assert not INTERNAL_CODES.search(html), (page.url, INTERNAL_CODES.search(html).group(0))
    assert not REPR.search(html), (page.url, REPR.search(html).group(0))
    text = page.evaluate("() => document.body.innerText")
    assert not SNAKE.search(text), (page.url, SNAKE.search(text).group(0))
    if name:
        screenshot(page, name)


OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const cut = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.position === 'fixed') continue;
    let inside = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const overflow = getComputedStyle(p).overflowX;
      if (overflow === 'auto' || overflow === 'scroll') { inside = true; break; }
    }
    if (!inside && box.right > width + 1) {
      cut.push(`${el.tagName.toLowerCase()}.${el.className} ends at ${Math.round(box.right)}`);
    }
  }
  return {cut, scroll: document.documentElement.scrollWidth, width};
}"""


def assert_fits_the_phone(page) -> None:
    """Nothing is cut off at the phone's width: no element ends past the viewport unless it is inside a
    box that scrolls sideways (the calendar's columns), and the page itself does not scroll sideways."""
    found = page.evaluate(OVERFLOW_JS)
    assert found["cut"] == [], (page.url, found["cut"][:5])
    assert found["scroll"] <= found["width"], (page.url, found)
