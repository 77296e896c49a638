"""The dashboard end to end in headless Chromium (Debian's, through Playwright) against Django's
live server: log in, upload a file and watch it finish, score and filter top leads, check a lead's
breakdown adds up, add a rule after previewing it, create a workflow, log out. Each page is saved
as a screenshot under SCREENSHOT_DIR (default var/screenshots), which CI keeps.

Imports and scoring run eagerly (CELERY_TASK_ALWAYS_EAGER, as in the rest of the unit suite), so
the job page's htmx poll finds them finished.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect, sync_playwright

from leads.models import Job, Lead, Offer, ScoringRule, Workflow
from leads.services.scoring_models import stage_create
from leads.services.workspaces import workspace_member_ensure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "a long local password"
CSV = (
    "name,role,company,industry,location,email,linkedin_bio\n"
    "Ada Park,CEO,Northwind,B2B SaaS,Berlin,ada@northwind.example,Runs a 200-person SaaS company\n"
    "Ben Cho,VP Sales,Contoso,B2B SaaS,Paris,ben@contoso.example,Scaling outbound\n"
    "Cy Diaz,Intern,Fabrikam,Retail,Madrid,cy@fabrikam.example,Student\n"
    "Di Ewan,Head of Growth,Tailspin,Fintech,London,di@tailspin.example,Growth marketer\n"
    "Bad Email,CTO,Initech,B2B SaaS,Austin,not-an-email,Broken row\n"
    "Eve Fox,Founder,Globex,B2B SaaS,Lisbon,eve@globex.example,Founder of a B2B SaaS start-up\n"
)


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or settings.BASE_DIR / "var" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        # A failure that says what to install, never a skip: the dashboard must be tested in a browser.
        pytest.fail(f"The dashboard's browser test needs Chromium at {CHROMIUM}: `apt-get install chromium` "
                    "(Debian/Ubuntu), or set CHROMIUM to another Chromium binary.", pytrace=False)
    # Playwright's sync API keeps an event loop on this thread while it runs; the database set-up
    # and the test's own ORM calls are still plain synchronous code, which Django must be told.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(screenshot_dir() / f"{name}.png"), full_page=True)


def test_a_day_in_the_dashboard(live_server, page: Page, tmp_path: Path) -> None:
    """Log in, upload, score, filter, read a breakdown, add a rule, create a workflow, log out."""
    access = workspace_member_ensure(workspace_name="acme", username="alice", password=PASSWORD)
    offer = Offer.objects.create(workspace=access.workspace, name="Outreach autopilot",
                                 ideal_use_cases=["B2B SaaS"], adjacent_industries=["Fintech"],
                                 value_props=["More meetings"])
    stage_create(workspace=access.workspace, data={"name": "MQL", "stage": "mql", "order": 1, "minimum_score": 30})
    stage_create(workspace=access.workspace, data={"name": "SQL", "stage": "sql", "order": 2, "minimum_score": 60})
    base = live_server.url

    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/app/login/"))
    shot(page, "01-login")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Top leads")

    # Upload: the job page shows the finished import and the bad email's warning with its line number
    # (the lead is kept, its email blanked).
    page.get_by_role("link", name="Upload").click()
    csv_file = tmp_path / "leads.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    shot(page, "02-upload")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#job-status")).to_have_text("succeeded")
    expect(page.locator("#row-warnings")).to_contain_text("6")
    expect(page.locator("#row-warnings")).to_contain_text("not-an-email")
    shot(page, "03-import-finished")
    assert Lead.objects.filter(workspace=access.workspace).count() == 6

    # Live progress: a job still running is polled (htmx) until it finishes, without a reload.
    running = Job.objects.create(workspace=access.workspace, kind=Job.Kind.IMPORT, status=Job.Status.RUNNING,
                                 total=10, processed=4, params={"filename": "big.csv"})
    page.goto(f"{base}/app/jobs/{running.pk}/")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "40")
    Job.objects.filter(pk=running.pk).update(status=Job.Status.SUCCEEDED, processed=10, created=10)
    expect(page.locator("#job-status")).to_have_text("succeeded", timeout=5_000)
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")

    # Score the new leads, then filter top leads.
    page.goto(f"{base}/app/")
    page.get_by_role("button", name="Score new and changed leads").click()
    expect(page.locator("#job-status")).to_have_text("succeeded")
    page.locator("#to-top-leads").click()
    rows = page.locator("#leads-table tbody tr")
    expect(rows).to_have_count(6)
    scores = [int(s) for s in page.locator("#leads-table td.score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    shot(page, "04-top-leads")
    threshold = scores[2]
    page.get_by_label("Score from").fill(str(threshold))
    page.get_by_label("Search").fill("")
    page.get_by_role("button", name="Filter").click()
    filtered = [int(s) for s in page.locator("#leads-table td.score").all_inner_texts()]
    assert filtered and all(score >= threshold for score in filtered)
    assert len(filtered) == sum(1 for score in scores if score >= threshold)
    shot(page, "05-top-leads-filtered")

    # A lead: the parts of its breakdown add up to its score (held within 0-100).
    page.locator("#leads-table tbody tr").first.get_by_role("link").click()
    breakdown = page.locator("#breakdown")
    expect(breakdown).to_be_visible()
    parts = [int(p) for p in breakdown.locator("tr.part").evaluate_all("rows => rows.map(r => r.dataset.points)")]
    score = int(page.locator("#lead-score").inner_text())
    assert parts and min(max(sum(parts), 0), 100) == score
    assert int(breakdown.get_attribute("data-total")) == sum(parts)
    page.locator("canvas[data-chart]").wait_for()
    shot(page, "06-lead")

    # Scoring model: preview a new rule's effect, then save it.
    page.get_by_role("link", name="Scoring models").click()
    shot(page, "07-models")
    page.locator("table a").first.click()
    page.get_by_label("Name").fill("Interns count too")
    page.get_by_label("Field").fill("role")
    page.get_by_label("Operator").select_option("contains")
    page.get_by_label("Value (text, number or JSON list)").fill("Intern")
    page.get_by_label("Points").fill("15")
    page.get_by_role("button", name="Preview the distribution").click()
    expect(page.locator("#preview-result")).to_contain_text("Preview on 6 scored leads")
    expect(page.locator("#preview-result")).to_contain_text("1 raised")
    shot(page, "08-rule-preview")
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator("#rules-table")).to_contain_text("Interns count too")
    assert ScoringRule.objects.filter(workspace=access.workspace, name="Interns count too", points=15).exists()

    # Workflows: a bad config shows its error, a good one is created.
    page.get_by_role("link", name="Workflows").click()
    page.get_by_label("Name", exact=True).fill("Call hot leads")
    page.get_by_label("Trigger", exact=True).select_option("score_threshold")
    page.get_by_label(re.compile("^Trigger settings")).fill('{"score": 70, "direction": "up"}')
    page.get_by_label("Action", exact=True).select_option("create_task")
    page.get_by_role("button", name="Create workflow").click()
    expect(page.locator(".errors")).to_be_visible()
    shot(page, "09-workflow-error")
    page.get_by_label(re.compile("^Action settings")).fill('{"title": "Call {name}", "due_in_days": 1}')
    page.get_by_role("button", name="Create workflow").click()
    expect(page.locator("#workflow-created")).to_be_visible()
    expect(page.locator("#workflows-table")).to_contain_text("Call hot leads")
    assert Workflow.objects.filter(workspace=access.workspace, name="Call hot leads").exists()
    shot(page, "10-workflows")

    for name, path in [("11-offers", "offers/"), ("12-tasks", "tasks/"), ("13-charts", "charts/"),
                       ("14-add-lead", "leads/new/")]:
        page.goto(f"{base}/app/{path}")
        if name == "13-charts":
            page.locator("canvas[data-chart]").first.wait_for()
        shot(page, name)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/app/?offer={offer.pk}")
    shot(page, "15-top-leads-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name=re.compile("^Log out")).click()
    expect(page).to_have_url(re.compile(r"/app/login/"))
    page.goto(f"{base}/app/")
    expect(page).to_have_url(re.compile(r"/app/login/\?next="))
