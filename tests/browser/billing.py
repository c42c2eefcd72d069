"""The dashboard's card form in a real browser: an owner signs in, enters a test card in the
fields Stripe.js (here localstripe's) draws, and sees the subscription start and the first
invoice, paid. Run by tests/tests/e2e/billing.rs with the control plane's address, the
organization and the owner's sign-in in the environment.
"""

import os
import re
import time

from playwright.sync_api import expect, sync_playwright

from common import open_page, run

CP = os.environ["CP_URL"]
ORG = os.environ["ORG"]
SHOTS = os.environ["SCREENSHOT_DIR"]


def main():
    os.makedirs(SHOTS, exist_ok=True)
    with sync_playwright() as p:
        errors, console = [], []
        browser, _, page = open_page(p, errors, console)
        page.goto(f"{CP}/signin")
        page.get_by_label("Email").fill(os.environ["EMAIL"])
        page.get_by_label("Password").fill(os.environ["PASSWORD"])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Plan and invoices").click()
        form = page.get_by_role("form", name="Add a card")
        card = form.get_by_role("group", name="Card details")
        for field, value in [
            ("number", "4242424242424242"),
            ("exp_month", "12"),
            ("exp_year", "30"),
            ("cvc", "123"),
            ("postal_code", "75001"),
        ]:
            card.get_by_placeholder(field).fill(value)
        page.screenshot(path=os.path.join(SHOTS, "15-billing-card.png"), full_page=True)
        with page.expect_response(lambda r: "/billing/payment-method" in r.url) as added:
            form.get_by_role("button", name="Add card").click()
        assert added.value.status == 200, added.value.text()
        # The subscription started with the card; localstripe's webhook reports its first
        # invoice paid a second later: the page shows both once reloaded.
        deadline = time.time() + 20
        while True:
            page.reload()
            # The billing section's facts render once its data has loaded.
            expect(page.get_by_text("Standing", exact=True)).to_be_visible()
            subscribed = page.get_by_text(re.compile(r"^starter \(sub_")).count() > 0
            paid = page.get_by_role("cell", name="paid", exact=True).count() > 0
            if subscribed and paid:
                break
            assert time.time() < deadline, (
                f"subscribed: {subscribed}, paid invoice: {paid}; console: {console}"
            )
            time.sleep(0.5)
        page.screenshot(path=os.path.join(SHOTS, "16-billing-subscribed.png"), full_page=True)
        assert not errors, errors
        browser.close()
    print("card added in the browser; subscription shown")


if __name__ == "__main__":
    run(main, "billing")
