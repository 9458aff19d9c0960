"""Fixtures for the integration tests: a running worker; for the dashboard tests the application's own
database role, accounts for every role, a running `citybrain dashboard` connected as that role, and
headless Chromium."""

from __future__ import annotations

import re
import urllib.request
import uuid

import psycopg
import pytest
from playwright.sync_api import sync_playwright

from citybrain import accounts
from citybrain.runtime.broker import ensure_topics
from citybrain.runtime.database import with_credentials
from citybrain.runtime.supervisor import stop_process_group
from citybrain.store.roles import ensure_app_role
from tests.helpers import free_port, start_citybrain, wait_until

WORKER_PARTITIONS = 2


@pytest.fixture
def worker(bootstrap, seeded_url, tmp_path):
    """`citybrain worker` on the test's broker (two partitions per topic) and database, cutting batches
    after 0.2 s; the end of its log is printed when the test ends (pytest shows it for a failure)."""
    ensure_topics(bootstrap, WORKER_PARTITIONS)
    proc = start_citybrain(
        ["worker"],
        tmp_path / "worker.log",
        kafka_bootstrap=bootstrap,
        database_url=seeded_url,
        worker_id=f"test-{uuid.uuid4().hex[:8]}",
        partitions=WORKER_PARTITIONS,
        batch_within_s=0.2,
    )
    yield proc
    stop_process_group(proc, grace_s=5)
    print((tmp_path / "worker.log").read_text()[-3000:])


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct-horse-42"
# user name -> (role, display name)
PEOPLE = {
    "wangwu": ("officer", "王五"),
    "lisi": ("officer", "李四"),
    "zhaoliu": ("viewer", "赵六"),
    "chenju": ("leader", "陈局"),
    "wall1": ("wall", "指挥大厅一号屏"),
    "admin": ("admin", "管理员"),
}


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def app_url(seeded_url) -> str:
    """The least-privilege role the worker and dashboard use, set up on the test database."""
    dbname = psycopg.conninfo.conninfo_to_dict(seeded_url)["dbname"]
    url = with_credentials(seeded_url, f"app_{dbname}", uuid.uuid4().hex)
    ensure_app_role(seeded_url, url)
    return url


@pytest.fixture
def people(seeded_url) -> dict[str, str]:
    with psycopg.connect(seeded_url, autocommit=True) as conn:
        for name, (role, display) in PEOPLE.items():
            accounts.add(conn, name, role, PASSWORD, display)
    return {name: display for name, (_, display) in PEOPLE.items()}


def start_dashboard(app_url: str, tmp_path, **settings):
    """`citybrain dashboard` on a free port, connected as the application role, refreshing every second;
    returns (process, base URL, log path) once it answers."""
    port = free_port()
    log = tmp_path / f"dashboard-{port}.log"
    proc = start_citybrain(
        ["dashboard"], log, database_url=app_url, dashboard_port=port, dashboard_refresh_s=1, **settings
    )
    url = f"http://127.0.0.1:{port}"

    def answers():
        try:
            with urllib.request.urlopen(url + "/login", timeout=2) as r:
                return r.status == 200
        except OSError:
            assert proc.poll() is None, log.read_text()
            return False

    wait_until(answers, 60, what="the dashboard to answer")
    return proc, url, log


def stop_dashboard(proc, log) -> None:
    stop_process_group(proc, grace_s=5)
    text = log.read_text()
    assert "Traceback" not in text, text  # no request ended in a server error


@pytest.fixture
def dashboard_url(app_url, people, tmp_path):
    proc, url, log = start_dashboard(app_url, tmp_path)
    yield url
    stop_dashboard(proc, log)


def offline_page(browser, viewport=(1600, 900)):
    """A page (in its own cookie jar) that may reach only localhost; returns (page, refused URLs)."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    refused = []

    def route(r):
        if r.request.url.startswith(("http://127.0.0.1", "http://localhost")):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return page, refused


def sign_in(page, base: str, username: str, path: str = "/", password: str = PASSWORD):
    """Open ``path``, get sent to the sign-in form, sign in, and land back on ``path``."""
    page.goto(base + path)
    page.wait_for_selector("#username")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    return page


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
