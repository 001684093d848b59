"""The Dagster UI in a real browser: materialize one partition by clicking, see it succeed.

`dagster dev` runs on loopback with a temporary storage root and DAGSTER_HOME (the shipped
deploy/dagster.yaml, so the run goes through the queued run coordinator and the gemini_api
pool); Debian's Chromium is driven headless by Playwright (no browser download: `./run`
installs the `chromium` package). Screenshots go to $TEST_ARTIFACTS or test-artifacts/ui/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect, sync_playwright

from gemini_assets_tests.ui.dagster_dev import REPO, DagsterDev, graphql
from gemini_devkit.emulator import start_emulator

pytestmark = pytest.mark.browser

DAY = "2026-11-20"
CHROMIUM = "/usr/bin/chromium"
# Flags Chromium needs on this kind of machine as root with a closed network (machines/python.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 60_000
COMMUNITY_DIALOG_WAIT_MS = 15_000
RUN_TIMEOUT_S = 300

RUN_QUERY = """query($partition: String!) {
  runsOrError(filter: {tags: [{key: "dagster/partition", value: $partition}]}) {
  ... on Runs { results { runId status tags { key value } } } } }"""
CHECKS_QUERY = """query($id: ID!) { logsForRun(runId: $id, limit: 5000) { ... on EventConnection { events {
  __typename ... on AssetCheckEvaluationEvent { evaluation { checkName success } } } } } }"""


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("TEST_ARTIFACTS") or REPO / "test-artifacts") / "ui"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory, artifacts):
    base = tmp_path_factory.mktemp("ui")
    home = base / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    emulator = start_emulator(base / "emulator", knobs={})  # as ./run ui does: the emulator, chosen explicitly
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    env.update(
        DAGSTER_HOME=str(home),
        GEMINI_ASSETS_STORAGE=str(base / "storage"),
        GEMINI_ASSETS_LIMITER="memory",
        GEMINI_ASSETS_BACKEND="emulator",
        GOOGLE_GEMINI_BASE_URL=emulator.url,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    cli = Path(sys.executable).parent / "gemini-assets"
    seeded = subprocess.run(
        [str(cli), "seed", "--date", DAY, "--count", "6"], env=env, capture_output=True, text=True, timeout=120
    )
    assert seeded.returncode == 0, seeded.stderr
    server = DagsterDev(env, artifacts / "dagster-dev.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        emulator.stop()


def test_materialize_one_partition_from_the_asset_graph(dagster_ui, artifacts):
    url = dagster_ui.url
    with sync_playwright() as playwright:
        # Playwright gives the browser a fresh temporary --user-data-dir itself.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(UI_TIMEOUT_MS)
            # Dagster's one-time "join the community" dialog can cover the page at any moment.
            page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())

            page.goto(f"{url}/asset-groups")
            # The dialog comes up a few seconds after the first page load; behind the launch dialog
            # its Skip button cannot be clicked, so dismiss it before opening that one.
            with contextlib.suppress(PlaywrightTimeoutError):  # it did not come up: nothing to dismiss
                page.get_by_role("button", name="Skip").click(timeout=COMMUNITY_DIALOG_WAIT_MS)
            materialize = page.get_by_role("button", name="Materialize all…")
            expect(materialize).to_be_enabled()
            expect(page.get_by_text("costs").first).to_be_visible()
            page.screenshot(path=artifacts / "01-asset-graph.png")

            materialize.click()
            dialog = page.get_by_role("dialog")
            partitions = dialog.get_by_placeholder("No matching partitions")
            partitions.fill(DAY)
            partitions.press("Enter")
            expect(dialog.get_by_text("1 partition", exact=True)).to_be_visible()
            page.screenshot(path=artifacts / "02-partition-dialog.png")
            dialog.get_by_role("button", name="Launch 1 run").click()
            expect(page.get_by_text("Launched run")).to_be_visible()

            run_id = _wait_for_run(url)
            page.goto(f"{url}/runs/{run_id}")
            expect(page.get_by_text("Success", exact=True).first).to_be_visible()
            expect(page.get_by_text(DAY).first).to_be_visible()
            page.wait_for_timeout(1500)  # let the Gantt chart finish drawing for the screenshot
            page.screenshot(path=artifacts / "03-run-succeeded.png")

            page.goto(f"{url}/assets/daily_costs?view=checks")
            expect(page.get_by_text("daily_costs_schema").first).to_be_visible()
            page.screenshot(path=artifacts / "04-daily-costs-checks.png")
        finally:
            browser.close()

    events = graphql(url, CHECKS_QUERY, {"id": run_id})["logsForRun"]["events"]
    checks = {
        e["evaluation"]["checkName"]: e["evaluation"]["success"]
        for e in events
        if e["__typename"] == "AssetCheckEvaluationEvent"
    }
    assert {
        "raw_media_schema",
        "intake_conservation",
        "model_outputs_schema",
        "call_ledger_schema",
        "daily_costs_schema",
    } <= set(checks)
    assert all(checks.values()), {name for name, ok in checks.items() if not ok}
    print(f"\nscreenshots: {artifacts}")


def _wait_for_run(url: str) -> str:
    """The run the dialog launched: exactly one, for DAY, from the UI; waits for it to succeed."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        (run,) = graphql(url, RUN_QUERY, {"partition": DAY})["runsOrError"]["results"]
        assert {"key": "dagster/from_ui", "value": "true"} in run["tags"]
        if run["status"] == "SUCCESS":
            return run["runId"]
        assert run["status"] in ("QUEUED", "NOT_STARTED", "STARTING", "STARTED"), (
            f"run {run['runId']} ended {run['status']}"
        )
        time.sleep(2)
    raise TimeoutError(f"the run for {DAY} did not succeed within {RUN_TIMEOUT_S} s")
