"""The browser tests: Debian's chromium, headless, driven by Playwright's sync API, against the
whole platform as `make run` starts it (tests.platform_support's `platform`).

Playwright's sync API hangs under eventlet's monkey patch, which `nameko test` applies: these
tests run in a plain pytest (`make test` runs `python -m pytest tests/browser` after the rest),
and a `nameko test tests` run leaves them out.
"""
import os
from pathlib import Path
from urllib.parse import quote

import eventlet.patcher
import pytest
from babel.messages.pofile import read_po

from tests.conftest import RABBIT_HOST, RABBIT_PASSWORD, RABBIT_USER, RUN_ID, _rabbitmqctl
from tests.platform_support import running_platform

UNDER_EVENTLET = eventlet.patcher.is_monkey_patched("socket")
if UNDER_EVENTLET:
    collect_ignore_glob = ["test_*.py"]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TRANSLATIONS = Path(__file__).resolve().parents[2] / "gateway" / "translations"
# what fails the accessibility check: axe's two highest impacts (the others are minor, moderate)
BLOCKING_IMPACTS = ("serious", "critical")


@pytest.fixture(scope="module")
def platform(postgres, tmp_path_factory):
    """One platform for a module's tests (starting one takes most of a minute); each test
    opens its own browser context, so none sees another's cookies."""
    directory = tmp_path_factory.mktemp("browser-platform")
    vhost = f"chikaya-test-{RUN_ID}-{directory.name}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, RABBIT_USER, ".*", ".*", ".*")
    try:
        with running_platform(f"amqp://{RABBIT_USER}:{RABBIT_PASSWORD}@{RABBIT_HOST}/{quote(vhost, safe='')}",
                              postgres.create, directory, {}) as started:
            yield started
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="session")
def browser():
    if UNDER_EVENTLET:
        raise pytest.UsageError("tests/browser cannot run under `nameko test`: run `python -m pytest tests/browser`")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page_in(browser):
    """`page_in("ar")`: a fresh browser page (own cookies) whose browser asks for that language;
    `width` makes its screen that many CSS pixels wide (360: a common phone)."""
    contexts = []

    def open_page(language: str, width: int = 1280, **options):
        context = browser.new_context(locale=language, viewport={"width": width, "height": 800},
                                      accept_downloads=True, **options)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def translated(language: str):
    """msgid -> the catalog's translation: the words a person reads on the page."""
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    return lambda msgid: catalog[msgid].string


def blocking_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    from axe_playwright_python.sync_playwright import Axe
    results = Axe().run(page)
    return [f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            + ", ".join(" ".join(node["target"]) for node in violation["nodes"])
            for violation in results.response["violations"] if violation["impact"] in BLOCKING_IMPACTS]
