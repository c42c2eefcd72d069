"""The dashboard in a real browser: Playwright driving Debian's Chromium through sign-up, an
API key, a topic, records produced through an agent with that key, the message browser, the
usage charts, consumer groups, the plan, the audit log, revoking the key (and the agent
refusing it), and the operators' pages; a screenshot of every page.

Run by tests/tests/e2e/dashboard.rs, which starts the agent and the control plane and passes
their addresses in the environment.
"""

import os
import re
import subprocess
import time

from playwright.sync_api import expect, sync_playwright

from common import open_page, run

CP = os.environ["CP_URL"]
AGENT = os.environ["AGENT_URL"]
CLI = os.environ["STREAMHOUSE_CLI"]
SHOTS = os.environ["SCREENSHOT_DIR"]
OPERATOR = os.environ["OPERATOR_EMAIL"]
OPERATOR_PASSWORD = os.environ["OPERATOR_PASSWORD"]


def cli(*args, key=None):
    cmd = [CLI, "--addr", AGENT]
    if key:
        cmd += ["--api-key", key]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60)


def main():
    os.makedirs(SHOTS, exist_ok=True)
    with sync_playwright() as p:
        errors = []
        browser, context, page = open_page(p, errors)
        context.grant_permissions(["clipboard-read", "clipboard-write"])

        def shot(name):
            page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)

        def nav(name):
            page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()
            expect(page.get_by_role("heading", level=1)).to_be_visible()

        page.goto(f"{CP}/signin")
        expect(page.get_by_role("heading", name="Sign in to StreamHouse")).to_be_visible()
        shot("01-sign-in")
        page.get_by_role("link", name="Create an account").click()
        expect(page.get_by_role("heading", name="Create your StreamHouse account")).to_be_visible()
        # A short password is refused with the field named.
        page.get_by_label("Organization").fill("Acme")
        page.get_by_label("Email").fill("ann@acme.test")
        page.get_by_label("Password (at least 10 characters)").fill("correct horse battery")
        shot("02-sign-up")
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        org = re.search(r"/orgs/([^/]+)", page.url).group(1)
        expect(page.get_by_text(re.compile("starter plan", re.I))).to_be_visible()
        shot("03-overview")

        # Keyboard: the first Tab reaches the skip link, which moves focus to the content.
        page.keyboard.press("Tab")
        expect(page.locator(":focus")).to_have_text("Skip to content")

        nav("Topics")
        page.get_by_label("Name").fill("orders")
        page.get_by_label("Partitions").fill("1")
        page.get_by_role("button", name="Create topic").click()
        expect(page.get_by_role("link", name="orders")).to_be_visible()
        shot("04-topics")

        nav("API keys")
        page.get_by_label("Name").fill("ci")
        page.get_by_role("button", name="Create key").click()
        secret = page.get_by_test_id("new-key").inner_text().strip()
        assert secret.startswith("shk_"), secret
        page.get_by_role("button", name="Copy to clipboard").click()
        expect(page.get_by_role("button", name="Copied")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == secret
        shot("05-api-key-created")
        page.get_by_role("button", name="I have stored it").click()
        expect(page.get_by_test_id("new-key")).to_have_count(0)

        # Records through a real agent, with the key the dashboard made.
        r = cli("produce", "orders", "hello-1", "hello-2", "hello-3", key=secret)
        assert r.returncode == 0, r.stderr
        r = cli("consume", "orders", "--group", "billing", "-n", "2", key=secret)
        assert r.returncode == 0, r.stderr

        nav("Topics")
        page.get_by_role("link", name="orders").click()
        expect(page.get_by_role("heading", name="Topic orders")).to_be_visible()
        expect(page.get_by_role("cell", name="3", exact=True)).to_be_visible()
        page.get_by_role("button", name="Show latest messages").click()
        for v in ["hello-1", "hello-2", "hello-3"]:
            expect(page.get_by_role("cell", name=v)).to_be_visible()
        shot("06-topic-and-messages")

        nav("Consumer groups")
        expect(page.get_by_text(re.compile(r"billing — lag 1 records"))).to_be_visible()
        page.get_by_text("billing", exact=True).click()
        shot("07-consumer-groups")

        # Ingress is metered as the records commit: 3 values of 7 bytes.
        nav("Usage")
        expect(page.get_by_text(re.compile(r"Ingress \(last 24 hours, per hour\).*total 21 B"))).to_be_visible()
        expect(page.get_by_role("cell", name="orders")).to_be_visible()
        shot("08-usage-hourly")
        page.get_by_role("button", name="Per day").click()
        expect(page.get_by_text(re.compile(r"Ingress \(last 30 days, per day\).*total 21 B"))).to_be_visible()
        shot("09-usage-daily")

        nav("Plan and invoices")
        expect(page.get_by_role("progressbar", name=re.compile("Ingress"))).to_be_visible()
        page.get_by_role("combobox", name=re.compile("^Plan")).select_option("growth")
        page.get_by_role("button", name="Change plan").click()
        expect(page.get_by_text(re.compile("growth plan", re.I))).to_be_visible()
        expect(page.get_by_text("This deployment does not bill through Stripe.")).to_be_visible()
        shot("10-plan")

        # Revoking: the dashboard shows it, and the agent refuses the key within its cache's
        # lifetime.
        nav("API keys")
        key_id = secret[: len("shk_") + 12]
        page.get_by_role("button", name=f"Revoke key {key_id}").click()
        expect(page.get_by_text(re.compile("^revoked "))).to_be_visible()
        shot("11-api-key-revoked")
        deadline = time.time() + 15
        while True:
            r = cli("produce", "orders", "late", key=secret)
            if r.returncode != 0:
                assert "revoked" in r.stderr, r.stderr
                break
            assert time.time() < deadline, "the agent still takes a revoked key"
            time.sleep(0.2)

        nav("Audit log")
        for action in ["org.create", "topic.create", "key.create", "key.revoke", "org.update"]:
            expect(page.get_by_role("cell", name=action, exact=True).first).to_be_visible()
        shot("12-audit-log")

        # Every form control has a label a screen reader can announce.
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                 .filter(e => !e.labels?.length && !e.getAttribute('aria-label'))
                 .map(e => e.outerHTML)"""
        )
        assert not unlabelled, unlabelled

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in to StreamHouse")).to_be_visible()

        # A wrong password is refused, then the operator signs in.
        page.get_by_label("Email").fill(OPERATOR)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("wrong email or password")
        page.get_by_label("Password").fill(OPERATOR_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        nav("Organizations")
        expect(page.get_by_role("link", name="Acme")).to_be_visible()
        shot("13-operators-organizations")
        nav("Agents")
        expect(page.get_by_role("cell", name="agent", exact=True)).to_be_visible()
        shot("14-operators-agents")

        assert not errors, errors
        browser.close()
    print(f"dashboard checked; screenshots in {SHOTS}")


if __name__ == "__main__":
    run(main, "dashboard")
