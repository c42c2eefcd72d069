"""What the dashboard's browser tests share: Debian's Chromium, started headless with nothing
talking to the internet, and a page of a laptop's size that records script errors."""

import os
import sys

CHROMIUM = os.environ.get("STREAMHOUSE_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def open_page(playwright, errors, console=None):
    """A browser and a 1366x768 page whose uncaught errors go to `errors` (and its console
    messages to `console`); never a downloaded browser."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda e: errors.append(str(e)))
    if console is not None:
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    return browser, context, page


def run(main, name):
    """Runs a browser test, naming it on stderr when it fails (the Rust test prints both)."""
    try:
        main()
    except Exception as e:  # noqa: BLE001 - the message is the test's report
        print(f"{name} browser test failed: {e}", file=sys.stderr)
        raise
