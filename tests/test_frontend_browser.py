"""The generated Refine admin, built with npm and used in headless Chromium against the
generated API and a real MongoDB wire-protocol server (nx-27017).

Every fixture project's frontend must pass `tsc --noEmit` (strict) and `vite build`; the
demo's is then driven like a person would: lists page, sort and filter, records are
created, edited and deleted (and a soft-deleted one viewed and restored), a Link select
offers the target's records, a server 422
lands on its field, operations run from their forms (in the foreground, in the background
and failing) and leave TaskRuns. Any page error or console error fails the test (the few
error responses a test provokes on purpose are declared). Screenshots of every page go to
tests/artifacts/frontend/.

Needs node/npm and Debian's chromium (`make system-deps` installs them when run as root);
the Python side is `playwright`, never `playwright install`.
"""

from __future__ import annotations

import csv
import re
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from api_server import ApiServer
from bson import ObjectId
from conftest import CRASH_OPERATION, FIXTURES, copy_project
from frontend_app import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PreviewServer,
    build,
    built_js,
    first_load,
    frontend_dir,
    link_node_modules,
)
from pymongo import MongoClient
from test_init_run import RELOAD_WAIT_S, Runner, accepted_within, add_field, scaffolded

from jobhunter_compiler.devserver.embedded_mongo import free_port
from jobhunter_compiler.pipeline import compile_project

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("npm") is None, reason="needs node and npm"),
]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "frontend"
FIXTURE_PROJECTS = [
    "aliases",
    "demo_project",
    "document_links",
    "edge_imports",
    "edge_layout",
    "edge_types",
    "field_types",
    "library",
    "soft_delete",
]
TIMEOUT_MS = 15_000
REFINE_ANTD = "refine-delete-button"
"""A class name only @refinedev/antd's buttons use (from @refinedev/ui-types): the chunk
holding that package's code has it."""
ANTD = "controlHeight"
"""A design token of antd's theme, which every antd component reads its styles from: the
chunk holding antd's theme has it (Refine, React and @ant-design/icons do not)."""
DASHBOARD_BUDGET = 615_000
SIGN_IN_BUDGET = 597_000
"""Bytes of JS (raw) the first screens may take, a little over what they take today and
under a third of the 1.88 MB single file the admin once was: a regression (say, an import
that pulls a page or antd into the shell) fails."""

SERVER_CHECKED_OPERATION = '''"""An input only the API checks (test fixture)."""

from pydantic import BaseModel, Field

from jobhunter_compiler import operation


class ShelfMarkInput(BaseModel):
    mark: str = Field(default="AA", pattern="^[A-Z]+$")


class ShelfMarkOutput(BaseModel):
    mark: str


@operation(name="shelf_mark", inputs=ShelfMarkInput, outputs=ShelfMarkOutput)
async def shelf_mark(input: ShelfMarkInput) -> ShelfMarkOutput:
    return ShelfMarkOutput(mark=input.mark)
'''


@dataclass
class BuiltProject:
    project: Path
    frontend: Path
    ir: Any
    build_output: str


_built: dict[str, BuiltProject] = {}


def built(name: str, tmp_path_factory: pytest.TempPathFactory) -> BuiltProject:
    """Compile and build a fixture project once per test process; the demo gets the test
    operations of `conftest.CRASH_OPERATION` (one reports its progress) and
    `SERVER_CHECKED_OPERATION`."""
    from jobhunter_compiler.pipeline import compile_project

    if name not in _built:
        project = copy_project(FIXTURES / name, tmp_path_factory.mktemp(name) / name)
        if name == "demo_project":
            (project / "operations" / "crash.py").write_text(CRASH_OPERATION, encoding="utf-8")
            (project / "operations" / "shelf_mark.py").write_text(
                SERVER_CHECKED_OPERATION, encoding="utf-8"
            )
        result = compile_project(project, mode="write")
        assert result.ok, result.diagnostics
        frontend = frontend_dir(project)
        _built[name] = BuiltProject(project, frontend, result.ir, build(frontend))
    return _built[name]


# -- the build ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURE_PROJECTS)
def test_frontend_type_checks_and_builds(
    name: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    app = built(name, tmp_path_factory)
    dist = app.frontend / "dist"
    assert (dist / "index.html").is_file()
    bundles = list((dist / "assets").glob("*.js"))
    assert bundles, app.build_output
    html = (dist / "index.html").read_text()
    assert f"<title>{app.ir.project}</title>" in html


# -- the browser --------------------------------------------------------------------------


@dataclass
class Browser:
    """One page, with every page error and console error it logged."""

    page: Any
    url: str
    shots: Path
    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """An error the test provokes on purpose (say a 422 response it submits)."""
        self.allowed.append(re.compile(pattern))

    def on_console(self, message: Any) -> None:
        if message.type == "error":
            text = message.text
            if not any(p.search(text) for p in self.allowed):
                self.errors.append(f"console error: {text}")

    def on_page_error(self, error: Any) -> None:
        self.errors.append(f"page error: {error}")

    def goto(self, path: str) -> None:
        self.page.goto(self.url + path)
        self.page.wait_for_load_state("networkidle")

    def shot(self, name: str) -> None:
        self.shots.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def header(self, title: str) -> Any:
        """A table's column header (not the hidden measuring row a scrolling table adds)."""
        return self.page.get_by_role("columnheader", name=title).first

    def rows(self) -> Any:
        return self.page.locator(".ant-table-tbody tr.ant-table-row")

    def choose(self, input_id: str, option: str) -> None:
        """Pick `option` in the antd select whose input has `input_id`."""
        self.page.locator(f".ant-select:has(#{input_id})").click()
        dropdown = self.page.locator(".ant-select-dropdown:not(.ant-select-dropdown-hidden)")
        dropdown.locator(".ant-select-item-option", has_text=option).first.click()

    def field_error(self, input_id: str) -> Any:
        return self.page.locator(f".ant-form-item:has(#{input_id}) .ant-form-item-explain-error")


@dataclass
class App:
    url: str
    api: str
    shots: Path
    database: str = ""
    """The app's MongoDB database, for a test that writes behind the API's back."""


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


@contextmanager
def serve(
    name: str, tmp_path_factory: pytest.TempPathFactory, mongo_url: str
) -> Iterator[tuple[App, BuiltProject]]:
    app = built(name, tmp_path_factory)
    database = f"frontend_{name}_{uuid.uuid4().hex[:8]}"
    with (
        ApiServer(app.project, mongo_url, database) as api,
        PreviewServer(app.frontend, api.url) as preview,
    ):
        yield App(preview.url, api.url, ARTIFACTS / name, database), app


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, mongo_url: str) -> Iterator[App]:
    with serve("demo_project", tmp_path_factory, mongo_url) as (app, _):
        yield app


@pytest.fixture
def browser(chromium: Any, demo: App, request: pytest.FixtureRequest) -> Iterator[Browser]:
    with open_page(chromium, demo, request.node.name) as session:
        yield session


@contextmanager
def open_page(chromium: Any, app: App, test_name: str) -> Iterator[Browser]:
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    session = Browser(page, app.url, app.shots / re.sub(r"\W+", "_", test_name).strip("_"))
    page.on("console", session.on_console)
    page.on("pageerror", session.on_page_error)
    try:
        yield session
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert not session.errors, "\n".join(session.errors)


def api_post(app: App, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{app.api}{path}", json=body, timeout=10)
    assert response.status_code in (200, 201), response.text
    return response.json()


def api_get(app: App, path: str, **params: Any) -> Any:
    response = httpx.get(f"{app.api}{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


# -- the demo, page by page ---------------------------------------------------------------


def test_every_page_renders_without_errors(browser: Browser, demo: App) -> None:
    job = api_post(demo, "/api/models/Job/", {"title": "Rendered job", "company": "Render"})
    application = api_post(
        demo,
        "/api/models/Application/",
        {"job": job["id"], "applicant_name": "Ada", "email": "ada@example.com"},
    )
    item = api_post(demo, "/api/models/TestItem/", {"name": "render me"})
    records = {"Job": job["id"], "Application": application["id"], "TestItem": item["id"]}
    run = api_post(demo, "/api/operations/create_test_item/", {"name": "for the dashboard"})
    assert run["name"] == "for the dashboard"

    browser.goto("/")
    expect(browser.page.locator(".model-count[data-model='TestItem']")).to_contain_text("2")
    expect(browser.page.get_by_text("create_test_item").first).to_be_visible()
    browser.shot("dashboard")
    for model, record_id in records.items():
        for suffix, name in (
            ("", "list"),
            (f"/show/{record_id}", "show"),
            ("/create", "create"),
            (f"/edit/{record_id}", "edit"),
        ):
            browser.goto(f"/models/{model}{suffix}")
            expect(browser.page.locator(".ant-page-header-heading-title")).to_be_visible()
            browser.shot(f"{model}-{name}")
    browser.goto(f"/models/Application/show/{records['Application']}")
    expect(browser.page.get_by_role("link", name="Rendered job")).to_be_visible()
    browser.goto("/operations")
    for operation in ("create_test_item", "scrape_jobs", "search_jobs", "submit_application"):
        expect(browser.page.get_by_role("link", name=operation)).to_be_visible()
    browser.shot("operations")
    for operation in ("create_test_item", "scrape_jobs", "search_jobs", "submit_application"):
        browser.goto(f"/operations/{operation}")
        expect(browser.page.locator("#run-operation")).to_be_visible()
        browser.shot(f"operation-{operation}")
    browser.goto("/taskruns")
    expect(browser.rows().first).to_be_visible()
    browser.shot("taskruns")
    runs = api_get(demo, "/api/taskruns/", operation_name="create_test_item")
    browser.goto(f"/taskruns/show/{runs[0]['id']}")
    expect(browser.page.locator(".task-run-status")).to_have_text("success")
    browser.shot("taskrun-show")


def test_list_pages_sorts_and_filters(browser: Browser, demo: App) -> None:
    company = f"Pager{uuid.uuid4().hex[:6]}"
    for number in range(12):
        api_post(
            demo,
            "/api/models/Job/",
            {"title": f"Paged {number:02d}", "company": company, "salary_max": 1000 * number},
        )
    browser.goto("/models/Job")
    page = browser.page
    # Filter: the company column's text filter (`contains`, so a part of the name is enough).
    browser.header("Company").locator(".ant-table-filter-trigger").click()
    page.locator(".ant-table-filter-dropdown input").fill(company[2:])
    page.locator(".ant-table-filter-dropdown button:has-text('Filter')").click()
    expect(page.locator(".ant-pagination-item-2")).to_be_visible()
    expect(browser.rows()).to_have_count(10)
    for row in browser.rows().all():
        expect(row).to_contain_text(company)
    browser.shot("filtered")
    # Server pagination: 12 matches, 10 a page.
    page.locator(".ant-pagination-item-2").click()
    expect(browser.rows()).to_have_count(2)
    browser.shot("page-2")
    page.locator(".ant-pagination-item-1").click()
    expect(browser.rows()).to_have_count(10)
    # Sorting: the title header, ascending then descending.
    browser.header("Title").click()
    expect(browser.rows().first).to_contain_text("Paged 00")
    browser.header("Title").click()
    expect(browser.rows().first).to_contain_text("Paged 11")
    assert "_order" not in page.url  # Refine keeps table state in its own URL keys
    browser.shot("sorted-descending")
    # The filter, sort and page survive a reload (they live in the URL).
    browser.page.reload()
    browser.page.wait_for_load_state("networkidle")
    expect(browser.rows().first).to_contain_text("Paged 11")
    expect(browser.rows()).to_have_count(10)


def test_create_edit_delete_round_trip(browser: Browser, demo: App) -> None:
    page = browser.page
    browser.goto("/models/TestItem/create")
    expect(page.locator("#value")).to_have_value("0")  # the model's default
    page.locator("#name").fill("round trip")
    browser.choose("kind", "beta")
    page.locator("#value").fill("42")
    page.locator("#active").click()  # default on: now off
    page.locator("#tags").fill("red")
    page.locator("#tags").press("Enter")
    browser.shot("create-filled")
    page.locator("button:has-text('Save')").click()
    page.wait_for_url(re.compile(r"/models/TestItem/show/"))
    record_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_text("round trip").first).to_be_visible()
    browser.shot("created")
    stored = api_get(demo, f"/api/models/TestItem/{record_id}")
    assert (stored["name"], stored["kind"], stored["value"], stored["active"], stored["tags"]) == (
        "round trip",
        "beta",
        42,
        False,
        ["red"],
    )

    browser.goto(f"/models/TestItem/edit/{record_id}")
    expect(page.locator("#name")).to_have_value("round trip")
    expect(page.locator("#created_at")).to_have_count(0)  # read-only: shown, not an input
    page.locator("#name").fill("round trip, edited")
    page.locator("#value").fill("7")
    browser.shot("edit-filled")
    page.locator("button:has-text('Save')").click()
    page.wait_for_url(re.compile(rf"/models/TestItem/show/{record_id}"))
    expect(page.get_by_text("round trip, edited").first).to_be_visible()
    stored = api_get(demo, f"/api/models/TestItem/{record_id}")
    assert (stored["name"], stored["value"], stored["kind"]) == ("round trip, edited", 7, "beta")

    browser.goto("/models/TestItem")
    page.locator("#search").fill("round trip, edited")
    page.locator("#search").press("Enter")
    expect(browser.rows()).to_have_count(1)
    browser.rows().first.locator("button.ant-btn-dangerous").click()
    page.locator(".ant-popconfirm button:has-text('Delete')").click()
    expect(page.locator(".ant-table-placeholder")).to_be_visible()
    browser.shot("deleted")
    response = httpx.get(f"{demo.api}/api/models/TestItem/{record_id}", timeout=10)
    assert response.status_code == 404


def test_selected_rows_delete_together_and_the_filtered_list_exports_as_csv(
    browser: Browser, demo: App
) -> None:
    prefix = f"bulk{uuid.uuid4().hex[:6]}"
    ids = [
        api_post(
            demo,
            "/api/models/TestItem/",
            {"name": f"{prefix} {n}", "kind": "gamma", "value": 999, "score": 1234.5},
        )["id"]
        for n in range(3)
    ]
    page = browser.page
    browser.goto("/models/TestItem")
    assert "filters" not in page.url, page.url  # no empty filter parameters
    page.locator("#search").fill(prefix)
    page.locator("#search").press("Enter")
    expect(browser.rows()).to_have_count(3)
    assert page.url.count("[field]=") == 1, page.url  # the search alone
    expect(browser.rows().first).to_contain_text("Gamma")  # the option's label, not `gamma`
    expect(browser.rows().first).to_contain_text("1,234.5")  # in the browser's locale

    browser.header("Name").click()
    browser.header("Name").click()  # descending
    expect(browser.rows().first).to_contain_text(f"{prefix} 2")
    with page.expect_download() as download:
        page.locator("button:has-text('Export')").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    header, *rows = list(csv.reader(text.splitlines()))
    assert header[:4] == ["Id", "Name", "Kind", "Value"], header
    # filtered and sorted as the list is
    assert [row[1] for row in rows] == [f"{prefix} {n}" for n in (2, 1, 0)]
    assert {row[0] for row in rows} == set(ids) and {row[2] for row in rows} == {"gamma"}

    for row in browser.rows().all()[:2]:
        row.locator(".ant-checkbox-input").check()
    page.locator("#delete-selected").click()
    page.locator(".ant-popconfirm button:has-text('Delete')").click()
    expect(browser.rows()).to_have_count(1)
    browser.shot("bulk-deleted")
    left = [httpx.get(f"{demo.api}/api/models/TestItem/{i}", timeout=10).status_code for i in ids]
    assert sorted(left) == [200, 404, 404]

    # A time shows in the browser's locale, with its zone named.
    kept = ids[left.index(200)]
    browser.goto(f"/models/TestItem/show/{kept}")
    zone = page.evaluate("""() => new Intl.DateTimeFormat(undefined, { timeZoneName: "short" })
            .formatToParts(new Date()).find((part) => part.type === "timeZoneName").value""")
    expect(page.get_by_text(re.compile(rf"\d:\d\d:\d\d.* {re.escape(zone)}$"))).to_be_visible()


def test_number_out_of_range_is_reported_and_a_corrected_422_clears(
    browser: Browser, demo: App
) -> None:
    page = browser.page
    browser.goto("/models/TestItem/create")
    page.locator("#name").fill("bounded")
    page.locator("#value").fill("5000")  # the model allows 0..1000
    page.locator("#value").blur()
    expect(browser.field_error("value")).to_contain_text("at most 1000")
    expect(page.locator("#value")).to_have_value("5000")  # reported, not clamped
    page.locator("#value").fill("10")
    expect(browser.field_error("value")).to_have_count(0)

    browser.goto("/models/Job/create")
    posted = page.locator(".ant-form-item").filter(has=page.locator("#posted_at"))
    expect(posted).to_contain_text(re.compile(r"In your time zone, \S+"))
    zone = posted.locator(".ant-form-item-extra").inner_text()
    # The list's date-and-time filter names the same zone.
    browser.goto("/models/Application")
    browser.header("Submitted at").locator(".ant-table-filter-trigger").click()
    dropdown = page.locator(".ant-table-filter-dropdown")
    expect(dropdown.locator(".ant-picker")).to_be_visible()
    expect(dropdown.locator(".time-zone-note")).to_have_text(zone)

    # The currency has a default, so no rule of the form's own: only the API checks it.
    browser.goto("/models/Job/create")
    page.locator("#title").fill("Corrected")
    page.locator("#company").fill("Checks")
    page.locator("#currency").fill("eur")
    browser.allow(r"status of 422")
    page.locator("button:has-text('Save')").click()
    expect(browser.field_error("currency")).to_contain_text("pattern")
    browser.shot("server-422")
    page.locator("#currency").fill("EUR")
    expect(browser.field_error("currency")).to_have_count(0)  # before any new save
    browser.shot("422-corrected")


def loaded_js(browser: Browser) -> set[str]:
    """The names of the JS files the page has fetched so far."""
    names = browser.page.evaluate("""() => performance.getEntriesByType("resource")
            .filter((entry) => entry.name.endsWith(".js"))
            .map((entry) => entry.name.split("/").pop())""")
    return set(names)


def assert_first_load(
    browser: Browser, frontend: Path, page: str, budget: int, report: str
) -> None:
    """What the browser fetched for its first screen is the build's entry and `page` with
    their chunks (nothing of another page, nothing of antd or @refinedev/antd) and within
    `budget` bytes; the figures go to the artifacts."""
    loaded = loaded_js(browser)
    expected = first_load(frontend, page)
    assert loaded == set(expected), (sorted(loaded), sorted(expected))
    assets = frontend / "dist" / "assets"
    for marker in (REFINE_ANTD, ANTD):
        assert not [name for name in loaded if marker in (assets / name).read_text()], marker
    first = sum(expected.values())
    build = built_js(frontend)
    browser.shots.mkdir(parents=True, exist_ok=True)
    (browser.shots / "first-load.txt").write_text(
        f"{report}: {first} bytes of JS in {len(loaded)} files; the build has "
        f"{sum(build.values())} in {len(build)}, the largest {max(build.values())}\n"
    )
    assert first <= budget, f"{report} takes {first} bytes of JS, over {budget}"


def test_the_dashboard_loads_only_its_own_pages_code(
    browser: Browser, demo: App, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Pages load lazily, and the shell (layout, menu, notifications) and the dashboard are
    plain markup on Refine's core: no antd, whose base alone is some 60 kB and its menu
    220 kB, and no @refinedev/antd, which is one module that would come whole. The first
    screen fetches the entry and the dashboard only (the bytes:
    tests/bench/bench_bundle.py)."""
    frontend = built("demo_project", tmp_path_factory).frontend
    browser.goto("/")
    expect(browser.page.locator(".model-count").first).to_be_visible()
    assert_first_load(browser, frontend, "pages/Dashboard.tsx", DASHBOARD_BUDGET, "dashboard")


def test_link_select_offers_the_target_records_and_422_lands_on_its_field(
    browser: Browser, demo: App
) -> None:
    title = f"Linked {uuid.uuid4().hex[:6]}"
    job = api_post(demo, "/api/models/Job/", {"title": title, "company": "Links"})
    page = browser.page
    browser.goto("/models/Application/create")
    page.locator(".ant-select:has(#job)").click()
    page.locator("#job").fill(title[:10])  # searches the target's primary field
    option = page.locator(
        ".ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option"
    )
    expect(option.filter(has_text=title)).to_be_visible()
    browser.shot("link-options")
    option.filter(has_text=title).click()
    page.locator("#applicant_name").fill("Grace")
    page.locator("#email").fill("not an e-mail")  # the pattern is the server's to check
    browser.allow(r"status of 422")
    page.locator("button:has-text('Save')").click()
    expect(browser.field_error("email")).to_contain_text("pattern")
    expect(browser.field_error("applicant_name")).to_have_count(0)
    browser.shot("server-422")
    page.locator("#email").fill("grace@example.com")
    page.locator("button:has-text('Save')").click()
    page.wait_for_url(re.compile(r"/models/Application/show/"))
    expect(page.get_by_role("link", name=title)).to_be_visible()
    record_id = page.url.rsplit("/", 1)[1]
    assert api_get(demo, f"/api/models/Application/{record_id}")["job"] == job["id"]
    browser.shot("linked")


def test_operation_form_shows_its_output_and_taskrun(browser: Browser, demo: App) -> None:
    page = browser.page
    name = f"from the form {uuid.uuid4().hex[:6]}"
    browser.goto("/operations/create_test_item")
    page.locator("#name").fill(name)
    browser.choose("kind", "gamma")
    page.locator("#run-operation").click()
    card = page.locator(".operation-output-card")
    expect(card).to_contain_text(name)
    browser.shot("output")
    card.locator(".task-run-link").click()
    page.wait_for_url(re.compile(r"/taskruns/show/"))
    expect(page.locator(".task-run-status")).to_have_text("success")
    expect(page.locator(".task-run-input")).to_contain_text('"kind": "gamma"')
    browser.shot("taskrun")
    run = api_get(demo, f"/api/taskruns/{page.url.rsplit('/', 1)[1]}")
    assert run["actor"]["channel"] == "ui"
    assert run["output_dump"]["name"] == name
    assert api_get(demo, "/api/models/TestItem/", name=name)


def test_an_operations_422_clears_when_its_input_is_corrected(browser: Browser, demo: App) -> None:
    """The mark's pattern is the API's to check and its default leaves the form no rule of
    its own: the 422 shows under the input until the value changes, as on a record's form."""
    page = browser.page
    browser.goto("/operations/shelf_mark")
    page.locator("#mark").fill("ab")
    browser.allow(r"status of 422")
    page.locator("#run-operation").click()
    expect(browser.field_error("mark")).to_contain_text("pattern")
    browser.shot("operation-422")
    page.locator("#mark").fill("AB")
    expect(browser.field_error("mark")).to_have_count(0)  # before any new run
    page.locator("#run-operation").click()
    expect(page.locator(".operation-output-card")).to_contain_text("AB")


def test_failing_operation_shows_its_error_and_taskrun(browser: Browser, demo: App) -> None:
    page = browser.page
    browser.goto("/operations/submit_application")
    page.locator("#job_id").fill("no-such-job")
    page.locator("#applicant_name").fill("Linus")
    page.locator("#email").fill("linus@example.com")
    browser.allow(r"status of 400")
    page.locator("#run-operation").click()
    error = page.locator(".operation-error")
    expect(error).to_contain_text("not a job id: 'no-such-job'")
    browser.shot("failed")
    error.locator(".task-run-link").click()
    expect(page.locator(".task-run-status")).to_have_text("failed")
    expect(page.locator(".task-run-error")).to_contain_text("not a job id")
    expect(page.locator(".task-run-traceback")).to_contain_text("OperationError")
    browser.shot("failed-taskrun")


def test_background_run_is_followed_and_taskruns_filter(browser: Browser, demo: App) -> None:
    page = browser.page
    browser.goto("/operations/scrape_jobs")
    page.locator("#dry_run").click()
    page.locator("#run-in-background").click()
    page.locator("#run-operation").click()
    background = page.locator(".operation-background")
    expect(background.locator(".task-run-status")).to_have_text("success", timeout=30_000)
    browser.shot("background")
    run_id = background.locator(".task-run-link").inner_text().split()[-1]
    run = api_get(demo, f"/api/taskruns/{run_id}")
    assert (run["operation_name"], run["status"]) == ("scrape_jobs", "success")
    assert run["input_dump"]["dry_run"] is True

    # A failed run, then the status filter of the TaskRun list.
    httpx.post(
        f"{demo.api}/api/operations/submit_application/",
        json={"job_id": "x", "applicant_name": "y", "email": "y@example.com"},
        timeout=10,
    )
    browser.goto("/taskruns")
    browser.header("Status").locator(".ant-table-filter-trigger").click()
    browser.page.locator(".ant-table-filter-dropdown .ant-select").click()
    page.locator(
        ".ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option",
        has_text="failed",
    ).click()
    page.locator(".ant-table-filter-dropdown button:has-text('Filter')").click()
    failed = len(api_get(demo, "/api/taskruns/", status="failed"))
    assert failed >= 1
    expect(browser.rows()).to_have_count(min(failed, 10))
    statuses = browser.rows().locator(".task-run-status").all_inner_texts()
    assert statuses == ["failed"] * len(statuses)
    browser.shot("taskruns-failed")


def reads_of_runs(page: Any) -> list[str]:
    """The paths of the page's requests under /api/taskruns/, as it makes them."""
    paths: list[str] = []
    page.on(
        "request",
        lambda request: (
            paths.append(urlparse(request.url).path) if "/api/taskruns/" in request.url else None
        ),
    )
    return paths


def start_counting(app: App, steps: int, pause_s: float) -> str:
    """Start `count_up` in the background through the API; the TaskRun's id."""
    response = httpx.post(
        f"{app.api}/api/operations/count_up/",
        params={"background": "true"},
        json={"steps": steps, "pause_s": pause_s},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["task_run_id"])


def test_a_running_runs_show_page_follows_its_events_without_polling(
    browser: Browser, demo: App
) -> None:
    page = browser.page
    run_reads = reads_of_runs(page)
    run_id = start_counting(demo, steps=4, pause_s=1.2)
    # Not `browser.goto`: the page's event stream stays open, so the network is never idle.
    page.goto(f"{demo.url}/taskruns/show/{run_id}")
    bar = page.locator(".task-run-progress")
    for step in (1, 2):
        expect(bar).to_have_attribute("data-progress", str(step / 4), timeout=10_000)
    expect(page.locator(".task-run-status")).to_have_text("success", timeout=15_000)
    expect(bar).to_contain_text("step 4 of 4")
    expect(page.locator(".task-run-output")).to_contain_text('"ok": true')
    browser.shot("followed")
    assert run_reads.count(f"/api/taskruns/{run_id}") == 1, run_reads
    assert run_reads.count(f"/api/taskruns/{run_id}/events") >= 1, run_reads


def test_a_run_whose_events_are_refused_is_polled_instead(browser: Browser, demo: App) -> None:
    page = browser.page
    browser.allow(r"status of 503")
    page.route(
        "**/api/taskruns/*/events",
        lambda route: route.fulfill(status=503, json={"detail": "no streams here"}),
    )
    run_reads = reads_of_runs(page)
    run_id = start_counting(demo, steps=4, pause_s=1.2)
    page.goto(f"{demo.url}/taskruns/show/{run_id}")
    bar = page.locator(".task-run-progress")
    expect(bar).to_have_attribute("data-progress", "0.5", timeout=10_000)
    expect(page.locator(".task-run-status")).to_have_text("success", timeout=15_000)
    expect(bar).to_contain_text("step 4 of 4")
    assert run_reads.count(f"/api/taskruns/{run_id}") >= 3, run_reads


def test_a_background_runs_progress_bar_moves_then_its_output_shows(
    browser: Browser, demo: App
) -> None:
    page = browser.page
    run_reads = reads_of_runs(page)
    browser.goto("/operations/count_up")
    page.locator("#steps").fill("4")
    page.locator("#pause_s").fill("1.2")
    page.locator("#run-in-background").click()
    page.locator("#run-operation").click()
    background = page.locator(".operation-background")
    bar = background.locator(".task-run-progress")
    seen: list[float] = []
    for step in (1, 2):
        expect(bar).to_have_attribute("data-progress", str(step / 4), timeout=10_000)
        seen.append(float(bar.get_attribute("data-progress") or "nan"))
        expect(bar).to_contain_text(f"step {step} of 4")
        if step == 1:
            browser.shot("progress")
    assert seen == [0.25, 0.5]
    expect(background.locator(".task-run-status")).to_have_text("success", timeout=15_000)
    expect(bar).to_have_attribute("data-progress", "1")
    expect(bar.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(background.locator(".operation-background-output")).to_contain_text("OkYes")
    browser.shot("progress-done")

    run_id = background.locator(".task-run-link").inner_text().split()[-1]
    # The run came with its events: read once as the page opened, never polled.
    assert run_reads.count(f"/api/taskruns/{run_id}") == 1, run_reads
    assert f"/api/taskruns/{run_id}/events" in run_reads, run_reads
    browser.goto(f"/taskruns/show/{run_id}")
    expect(page.locator(".task-run-progress")).to_contain_text("step 4 of 4")
    browser.goto("/taskruns")
    done = browser.rows().first.locator(".task-run-progress")
    expect(done.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")


# -- the edge-case fixtures: every page renders -------------------------------------------


@pytest.mark.parametrize("name", ["edge_imports", "edge_layout", "edge_types", "field_types"])
def test_edge_fixture_pages_render(
    name: str,
    chromium: Any,
    tmp_path_factory: pytest.TempPathFactory,
    mongo_url: str,
    request: pytest.FixtureRequest,
) -> None:
    with (
        serve(name, tmp_path_factory, mongo_url) as (app, project),
        open_page(chromium, app, request.node.name) as session,
    ):
        session.goto("/")
        session.shot("dashboard")
        for model in project.ir.models:
            for suffix, label in (("", "list"), ("/create", "create")):
                session.goto(f"/models/{model.name}{suffix}")
                expect(session.page.locator(".ant-page-header-heading-title")).to_be_visible()
                session.shot(f"{model.name}-{label}")
        for operation in project.ir.operations:
            session.goto(f"/operations/{operation.name}")
            expect(session.page.locator("#run-operation")).to_be_visible()
            session.shot(f"operation-{operation.name}")


def test_an_edit_leaves_a_secret_alone_unless_retyped(
    chromium: Any,
    tmp_path_factory: pytest.TempPathFactory,
    mongo_url: str,
    request: pytest.FixtureRequest,
) -> None:
    """The API answers a SecretStr masked: the edit form starts it empty and its PATCH
    sends it only when retyped, so saving never stores the mask as the secret."""
    device = {
        "hostname": "edge-1",
        "serial": str(uuid.uuid4()),
        "api_token": "kept-secret",
        "firmware": "/srv/fw.bin",
        "ipv4": "10.0.0.1",
        "owner_email": "ops@example.org",
        "uptime": 60,
        "cost": "9.99",
        "ports": [22],
    }
    with (
        serve("field_types", tmp_path_factory, mongo_url) as (app, _),
        open_page(chromium, app, request.node.name) as session,
    ):
        record_id = api_post(app, "/api/models/Device/", device)["id"]
        page = session.page
        patches: list[dict[str, Any]] = []
        page.on(
            "request",
            lambda sent: patches.append(sent.post_data_json) if sent.method == "PATCH" else None,
        )
        edits = (("edge-1", "edge-2", None), ("edge-2", "edge-3", "new-secret"))
        for stored, hostname, token in edits:
            session.goto(f"/models/Device/edit/{record_id}")
            expect(page.locator("#hostname")).to_have_value(stored)
            expect(page.locator("#api_token")).to_have_value("")
            page.locator("#hostname").fill(hostname)
            if token is not None:
                page.locator("#api_token").fill(token)
            page.locator("button:has-text('Save')").click()
            page.wait_for_url(re.compile(rf"/models/Device/show/{record_id}"))
        session.shot("device-edited")
    assert [patch.get("api_token") for patch in patches] == [None, "new-secret"]
    assert [patch["hostname"] for patch in patches] == ["edge-2", "edge-3"]


def test_soft_deleted_records_are_listed_apart_and_restored(
    chromium: Any,
    tmp_path_factory: pytest.TempPathFactory,
    mongo_url: str,
    request: pytest.FixtureRequest,
) -> None:
    """A delete hides a Draft; the list's view (kept in the URL) shows it as deleted, and
    its show page and its list row each restore it."""
    with (
        serve("soft_delete", tmp_path_factory, mongo_url) as (app, _),
        open_page(chromium, app, request.node.name) as session,
    ):
        session.allow(r"status of 404")  # the read of a deleted record, before the lookup
        api_post(app, "/api/models/Draft/", {"title": "Kept draft"})
        gone = api_post(app, "/api/models/Draft/", {"title": "Gone draft"})
        page = session.page
        views = page.locator("#deleted-view")
        session.goto("/models/Draft")
        expect(session.rows()).to_have_count(2)
        session.rows().filter(has_text="Gone draft").locator("button.ant-btn-dangerous").click()
        page.locator(".ant-popconfirm button:has-text('Delete')").click()
        expect(session.rows()).to_have_count(1)
        assert api_get(app, "/api/models/Draft/", _deleted="only")[0]["id"] == gone["id"]

        views.get_by_text("Deleted", exact=True).click()
        page.wait_for_url(re.compile(r"_deleted"))
        expect(session.rows()).to_have_count(1)
        expect(session.rows().first).to_contain_text("Gone draft")
        expect(session.rows().first).to_have_class(re.compile(r"\brecord-deleted\b"))
        session.shot("deleted-view")
        page.reload()
        page.wait_for_load_state("networkidle")
        expect(session.rows()).to_have_count(1)
        expect(views.locator(".ant-segmented-item-selected")).to_have_text("Deleted")
        views.get_by_text("All", exact=True).click()
        expect(session.rows()).to_have_count(2)
        expect(page.locator("tr.record-deleted")).to_have_count(1)

        session.goto(f"/models/Draft/show/{gone['id']}")
        expect(page.get_by_text("Gone draft").first).to_be_visible()
        restore = page.locator(".refine-restore-button")
        session.shot("deleted-record")
        restore.click()
        expect(restore).to_have_count(0)
        assert api_get(app, f"/api/models/Draft/{gone['id']}")["deleted_at"] is None

        assert httpx.delete(f"{app.api}/api/models/Draft/{gone['id']}", timeout=10).is_success
        session.goto("/models/Draft")
        views.get_by_text("Deleted", exact=True).click()
        expect(session.rows()).to_have_count(1)
        session.rows().first.locator(".refine-restore-button").click()
        expect(page.locator(".ant-table-placeholder")).to_be_visible()
        assert api_get(app, f"/api/models/Draft/{gone['id']}")["deleted_at"] is None


def test_forms_send_and_lists_query_the_keys_the_api_takes(
    chromium: Any,
    tmp_path_factory: pytest.TempPathFactory,
    mongo_url: str,
    request: pytest.FixtureRequest,
) -> None:
    """Note.summary validates as `abstract`, dumps as `synopsis` and is stored (so filtered
    and sorted) as `summary`: the form shows `synopsis` and sends `abstract`, and the API's
    422 about `abstract` shows under the `synopsis` input."""
    with (
        serve("aliases", tmp_path_factory, mongo_url) as (app, _),
        open_page(chromium, app, request.node.name) as session,
    ):
        page = session.page
        session.goto("/models/Note/create")
        page.locator("#body").fill("aliased body")
        summary = page.locator("#synopsis")
        summary.fill(" leading space")  # only the API checks the pattern
        session.allow(r"status of 422")
        page.locator("button:has-text('Save')").click()
        summary_row = page.locator(".ant-form-item").filter(has=summary)
        expect(summary_row.locator(".ant-form-item-explain-error")).to_contain_text("pattern")
        summary.fill("in short")
        page.locator("button:has-text('Save')").click()
        page.wait_for_url(re.compile(r"/models/Note/show/"))
        record_id = page.url.rsplit("/", 1)[1]
        expect(page.get_by_text("in short").first).to_be_visible()
        assert api_get(app, f"/api/models/Note/{record_id}")["synopsis"] == "in short"

        session.goto("/models/Note")
        with page.expect_response(re.compile(r"/api/models/Note/?\?.*_sort=summary")) as sorted_:
            session.header("Summary").click()
        assert sorted_.value.ok
        expect(session.rows().get_by_text("in short", exact=True).first).to_be_visible()


# -- jobhunter dev: a saved model change reaches the admin and the API --------------------


def test_dev_shows_a_new_field_in_the_create_form_without_a_restart(
    chromium: Any, tmp_path: Path
) -> None:
    """`jobhunter dev` with the admin on Vite's dev server: a field added to a model file
    appears in the open create form (hot reload, the page is not reloaded by the test) and
    the API accepts it, with no restart (how soon: tests/bench/bench_dev.py)."""
    project = scaffolded(tmp_path)
    assert compile_project(project).ok
    link_node_modules(frontend_dir(project))
    admin_port = free_port()
    runner = Runner(
        project, free_port(), free_port(), command=("dev", "--frontend-port", str(admin_port))
    )
    try:
        runner.wait_healthy()
        admin = f"http://127.0.0.1:{admin_port}"
        wait_answering(admin, runner)
        app = App(admin, runner.url, ARTIFACTS / "dev")
        with open_page(chromium, app, "dev_new_field") as browser:
            # Development builds only, and not the admin's doing: rc-field-form gives a
            # field's errors and warnings one shared empty array, and rc-util's deep compare
            # takes a value met twice for a cycle, so a validated form warns on save
            # (react-component/util#816, open). The library is left as it is.
            browser.allow(r"There may be circular references")
            page = browser.page
            browser.goto("/models/Todo/create")
            expect(page.locator("#title")).to_be_visible()
            expect(page.locator("#hours")).to_have_count(0)
            saved = time.monotonic()
            add_field(project / "models" / "todo.py", "hours: float = 1.0")
            expect(page.locator("#hours")).to_be_visible(timeout=RELOAD_WAIT_S * 1000)
            shown = time.monotonic() - saved
            accepted_within(runner.url, {"title": "by the API", "hours": 1.5}, RELOAD_WAIT_S)
            accepted = time.monotonic() - saved
            print(f"save to field shown: {shown:.2f}s, to accepted by the API: {accepted:.2f}s")
            browser.shot("create-with-new-field")
            page.locator("#title").fill("from the admin")
            page.locator("#hours").fill("2.5")
            page.locator("button:has-text('Save')").click()
            page.wait_for_url(re.compile(r"/models/Todo/show/"))
        stored = httpx.get(f"{runner.url}/api/models/Todo/", params={"title": "from the admin"})
        assert [todo["hours"] for todo in stored.json()] == [2.5]
        assert runner.stop(signal.SIGINT, group=True) == 0, runner.output()
    finally:
        runner.kill()


def wait_answering(url: str, runner: Runner) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert runner.process.poll() is None, runner.output()
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} never answered:\n{runner.output()}")


def test_relations_referring_records_protected_delete_and_dangling_links(
    chromium: Any,
    tmp_path_factory: pytest.TempPathFactory,
    mongo_url: str,
    request: pytest.FixtureRequest,
) -> None:
    """The library fixture: a show page lists the records linking to it (paged), a delete refused
    by a `protect` link says why, a link to a deleted record shows as missing, and an
    operation's record id is picked like a link."""
    with (
        serve("library", tmp_path_factory, mongo_url) as (app, _),
        open_page(chromium, app, request.node.name) as session,
    ):
        page = session.page
        author = api_post(app, "/api/models/Author/", {"name": "Tove Jansson"})["id"]
        book = api_post(app, "/api/models/Book/", {"title": "Moominland", "author": author})
        api_post(app, "/api/models/Loan/", {"reader": "Snufkin", "book": book["id"]})

        session.goto(f"/models/Author/show/{author}")
        card = page.locator(".referring-records[data-model='Book']").first
        expect(card).to_contain_text("Book records linking here (author)")
        card.get_by_role("link", name="Moominland").click()
        page.wait_for_url(re.compile(rf"/models/Book/show/{book['id']}"))
        expect(page.locator(".referring-records[data-model='Loan']")).to_contain_text("Snufkin")
        session.shot("book-with-loans")

        session.allow("409")  # the refused delete's response, which the test provokes
        session.goto(f"/models/Author/show/{author}")
        page.locator(".ant-page-header button.ant-btn-dangerous").click()
        expect(page.locator(".ant-popconfirm")).to_contain_text(
            "1 Book record (author) link to it: the delete will be refused."
        )
        page.locator(".ant-popconfirm button:has-text('Delete')").click()
        expect(page.locator(".ant-notification-notice")).to_contain_text(
            "1 Book record links to it (Book.author)"
        )
        session.shot("protected-delete")
        assert api_get(app, f"/api/models/Author/{author}")["name"] == "Tove Jansson"

        # A link left dangling (deleted behind the API's back) reads "missing", no toast.
        gone = api_post(app, "/api/models/Author/", {"name": "Nobody"})["id"]
        api_post(app, "/api/models/Book/", {"title": "Orphan", "author": gone})
        with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
            client[app.database]["Author"].delete_one({"_id": ObjectId(gone)})
        session.allow("404")  # the browser logs the failed read of the missing Author
        session.goto("/models/Book")
        row = session.rows().filter(has_text="Orphan")
        expect(row.locator(".ant-tag", has_text="missing")).to_be_visible()
        expect(page.locator(".ant-notification-notice")).to_have_count(0)
        session.shot("dangling-link")

        # An operation's input declared to hold a Book's id picks the Book by its title.
        session.goto("/operations/lend_book")
        page.locator(".ant-select:has(#book_id)").click()
        page.locator("#book_id").fill("Moomin")
        option = page.locator(
            ".ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option"
        )
        option.filter(has_text="Moominland").click()
        page.locator("#reader").fill("Little My")
        page.locator("#run-operation").click()
        output = page.locator(".operation-output-card")
        expect(output.get_by_role("link", name="Little My")).to_be_visible()  # the new Loan
        session.shot("operation-link-select")
        loans = api_get(app, "/api/models/Loan/", reader="Little My")
        assert [loan["book"] for loan in loans] == [book["id"]]

        # Referring records are paged, 10 a page.
        prolific = api_post(app, "/api/models/Author/", {"name": "Prolific"})["id"]
        for number in range(12):
            api_post(app, "/api/models/Book/", {"title": f"Volume {number}", "author": prolific})
        session.goto(f"/models/Author/show/{prolific}")
        volumes = page.locator(".referring-records[data-model='Book']").first
        expect(volumes.locator(".ant-table-row")).to_have_count(10)
        volumes.locator(".ant-pagination-item-2").click()
        expect(volumes.locator(".ant-table-row")).to_have_count(2)
