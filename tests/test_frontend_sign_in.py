"""The generated admin of a project with `api.auth: users`, in headless Chromium against
its API and a real MongoDB wire-protocol server (nx-27017): signing in, what each role
sees and may open, and signing out.

The project declares its permissions (tests/test_auth_matrix.py's notes): an editor may
read, create and update notes, read memos and run `echo`; a viewer may read notes and run
`echo`; tags are left to the defaults (anyone signed in reads, admin writes). The admin
must hide what the API would refuse, and a typed URL to such a page must show a refusal,
not the form. Screenshots go to tests/artifacts/frontend/sign_in/.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from api_server import ApiServer
from beanie import init_beanie
from frontend_app import CHROMIUM, CHROMIUM_ARGS, PreviewServer, build, frontend_dir
from pymongo import AsyncMongoClient, MongoClient
from test_auth_matrix import write_notes_project
from test_frontend_browser import (
    ARTIFACTS,
    SIGN_IN_BUDGET,
    App,
    Browser,
    assert_first_load,
    open_page,
)

from jobhunter_compiler.pipeline import compile_project
from jobhunter_runtime.users import AppUser, create_user

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("npm") is None, reason="needs node and npm"),
]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

SECRET = "sign-in-" + uuid.uuid4().hex + uuid.uuid4().hex
PASSWORD = "correct horse battery staple"
ROLES = ["admin", "editor", "viewer"]
UNAUTHORIZED = r"status of 401"
"""The console error of a 401 response, which these tests provoke on purpose."""


async def _create_people(mongo_url: str, database: str) -> None:
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        await init_beanie(database=client[database], document_models=[AppUser])
        for role in ("editor", "viewer"):
            await create_user(f"{role}@example.org", PASSWORD, [role], ROLES)
    finally:
        await client.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM}")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def notes_frontend(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built admin of the notes project."""
    folder = tmp_path_factory.mktemp("sign_in") / "notes"
    write_notes_project(folder, "api:\n  auth: users\n")
    result = compile_project(folder, mode="write")
    assert result.ok, result.diagnostics
    frontend = frontend_dir(folder)
    build(frontend)
    return frontend


@pytest.fixture(scope="module")
def notes(notes_frontend: Path, mongo_url: str) -> Iterator[App]:
    project = notes_frontend.parents[1]
    database = f"frontend_sign_in_{uuid.uuid4().hex[:8]}"
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _create_people(mongo_url, database)).result()
    try:
        with (
            ApiServer(project, mongo_url, database, env={"JOBHUNTER_SECRET_KEY": SECRET}) as api,
            PreviewServer(notes_frontend, api.url) as preview,
        ):
            yield App(preview.url, api.url, ARTIFACTS / "sign_in")
    finally:
        with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
            client.drop_database(database)


@pytest.fixture
def browser(chromium: Any, notes: App, request: pytest.FixtureRequest) -> Iterator[Browser]:
    with open_page(chromium, notes, request.node.name) as session:
        session.allow(UNAUTHORIZED)
        yield session


def sign_in(browser: Browser, person: str) -> None:
    """Fill the sign-in page the browser is on."""
    page = browser.page
    expect(page.locator("#email")).to_be_visible()
    page.locator("#email").fill(f"{person}@example.org")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".signed-in-user")).to_contain_text(f"{person}@example.org")


def menu(browser: Browser) -> Any:
    return browser.page.locator(".admin-sider .admin-menu")


def me_status(browser: Browser) -> int:
    """What `/api/auth/me` answers with the browser's cookies."""
    return int(browser.page.request.get(f"{browser.url}/api/auth/me").status)


def test_the_sign_in_page_loads_only_its_own_code(browser: Browser, notes_frontend: Path) -> None:
    """The sign-in page is plain markup on Refine's core `useLogin` (no antd, no
    @refinedev/antd) and fetches the entry and its own chunks only: no dashboard, list or
    form page."""
    browser.goto("/login")
    expect(browser.page.locator("#email")).to_be_visible()
    assert_first_load(browser, notes_frontend, "pages/SignIn.tsx", SIGN_IN_BUDGET, "sign-in")


def test_an_editor_signs_in_lists_and_creates_then_signs_out(browser: Browser) -> None:
    page = browser.page
    browser.goto("/models/Note")
    expect(page).to_have_url(re.compile(r"/login\?to=%2Fmodels%2FNote$"))
    browser.shot("sign-in")
    sign_in(browser, "editor")
    expect(page).to_have_url(re.compile(r"/models/Note(\?|$)"))
    expect(page.locator(".signed-in-user")).to_contain_text("editor")
    for item in ("Note", "Memo", "Tag", "Operations"):
        expect(menu(browser).get_by_text(item, exact=True)).to_be_visible()
    expect(menu(browser).get_by_text("Logout")).to_have_count(0)  # the header signs out

    page.get_by_role("button", name="Create").click()
    expect(page).to_have_url(re.compile(r"/models/Note/create$"))
    page.locator("#title").fill("Written by the editor")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/models/Note/show/"))
    browser.goto("/models/Note")
    expect(browser.rows().filter(has_text="Written by the editor")).to_have_count(1)
    # An editor may not delete notes: no rows to select for a bulk delete.
    expect(page.locator(".ant-table-selection-column")).to_have_count(0)
    browser.shot("editor-notes")

    # Tags are left to the defaults: the editor reads them but only an admin creates one.
    browser.goto("/models/Tag")
    expect(page.locator(".ant-page-header-heading-title")).to_have_text("Tag")
    expect(page.get_by_role("button", name="Create")).to_have_count(0)

    page.locator("#sign-out").click()
    expect(page).to_have_url(re.compile(r"/login(\?|$)"))
    expect(page.locator("#email")).to_be_visible()
    assert me_status(browser) == 401
    browser.goto("/models/Note")
    expect(page).to_have_url(re.compile(r"/login\?to="))


def test_a_viewer_sees_no_create_button_and_a_typed_create_url_is_refused(
    browser: Browser, notes: App
) -> None:
    page = browser.page
    browser.goto("/login")
    sign_in(browser, "viewer")
    expect(page.locator(".dashboard .page-title")).to_contain_text("notes")
    expect(menu(browser).get_by_text("Note", exact=True)).to_be_visible()
    expect(menu(browser).get_by_text("Tag", exact=True)).to_be_visible()
    expect(menu(browser).get_by_text("Memo", exact=True)).to_have_count(0)
    # The dashboard counts only what the viewer may read.
    expect(page.locator(".model-count[data-model='Note']")).to_be_visible()
    expect(page.locator(".model-count[data-model='Memo']")).to_have_count(0)

    browser.goto("/models/Note")
    expect(page.locator(".ant-page-header-heading-title")).to_have_text("Note")
    expect(page.locator(".ant-table")).to_be_visible()
    expect(page.get_by_role("button", name="Create")).to_have_count(0)
    # Exporting reads the list: whoever may list a model may export it.
    expect(page.get_by_role("button", name="Export")).to_be_visible()
    browser.shot("viewer-notes")

    for refused in ("/models/Note/create", "/models/Memo", "/operations/tidy"):
        browser.goto(refused)
        expect(page.locator(".access-refused")).to_be_visible()
        expect(page.locator("form")).to_have_count(0)
        expect(page.get_by_role("button", name="Export")).to_have_count(0)
    browser.shot("viewer-refused")
    browser.goto("/operations/echo")
    expect(page.locator("#run-operation")).to_be_visible()
    browser.goto("/operations")
    expect(page.get_by_role("link", name="echo")).to_be_visible()
    expect(page.get_by_role("link", name="tidy")).to_have_count(0)


def test_a_session_ended_elsewhere_leads_to_sign_in_and_back(browser: Browser) -> None:
    page = browser.page
    browser.goto("/login")
    sign_in(browser, "viewer")
    # The dashboard's reads done first: one answered 401 would end the page's session itself.
    page.wait_for_load_state("networkidle")
    # Sign out through the API, as another tab would: the page still shows the app.
    assert page.request.post(f"{browser.url}/api/auth/logout").status == 204
    menu(browser).get_by_text("Tag", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login\?to=%2Fmodels%2FTag"))
    sign_in(browser, "viewer")
    expect(page).to_have_url(re.compile(r"/models/Tag(\?|$)"))
    expect(page.locator(".ant-page-header-heading-title")).to_have_text("Tag")
    assert me_status(browser) == 200


def test_a_background_run_follows_its_events_with_the_session_cookie(browser: Browser) -> None:
    page = browser.page
    streams: list[int] = []
    page.on(
        "response",
        lambda response: (
            streams.append(response.status) if response.url.endswith("/events") else None
        ),
    )
    browser.goto("/login")
    sign_in(browser, "viewer")
    browser.goto("/operations/echo")
    page.locator("#text").fill("followed live")
    page.locator("#run-in-background").click()
    page.locator("#run-operation").click()
    background = page.locator(".operation-background")
    expect(background.locator(".task-run-status")).to_have_text("success")
    expect(background.locator(".operation-background-output")).to_contain_text("followed live")
    # EventSource sends the session cookie on the same origin: the stream was let in.
    assert streams == [200], streams
