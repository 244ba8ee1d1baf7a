"""`.jobhunter.yml`: its schema and loading.

The file is parsed with PyYAML's node API rather than `safe_load` so that a validation
error can point at the line of the offending key: a user who typoed `model:` for
`models:` is told `.jobhunter.yml:3:1: JH002 error: unknown key 'model'`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from .diagnostics import Diagnostic, diagnostic, did_you_mean

CONFIG_FILE = ".jobhunter.yml"
DEFAULT_MODELS = ["models", "src/models"]
DEFAULT_OPERATIONS = ["operations", "src/operations"]
SCHEMA_SNAPSHOT_FILE = "schema.json"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _inside_project(value: str) -> str:
    """Paths and globs are relative to the project and stay inside it."""
    path = PurePosixPath(value.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        raise ValueError("must be a path inside the project (relative, without '..')")
    return value


def glob_pattern(pattern: str) -> re.Pattern[str]:
    """A project-relative glob as a regex over POSIX paths: `*` and `?` stay within one
    folder, `**` crosses folders, and a pattern naming a folder (`models/experimental`,
    `models/experimental/`) also covers everything below it, as in .gitignore."""
    pattern = pattern.strip().removeprefix("./").rstrip("/")
    regex, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex, i = regex + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            regex, i = regex + ".*", i + 2
        elif pattern[i] == "*":
            regex, i = regex + "[^/]*", i + 1
        elif pattern[i] == "?":
            regex, i = regex + "[^/]", i + 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            if body.startswith("!"):
                body = "^" + body[1:]
            regex, i = regex + f"[{body}]", end + 1
        else:
            regex, i = regex + re.escape(pattern[i]), i + 1
    return re.compile(f"{regex}(?:/.*)?\\Z")


def _valid_glob(value: str) -> str:
    try:
        glob_pattern(value)
    except re.error as exc:
        raise ValueError(f"not a valid glob: {exc}") from exc
    return value


def _one_printable_line(value: str) -> str:
    """A name every generated file shows, in comments, docstrings and titles: a control
    character or a line break in it would end a comment early or corrupt a file."""
    unprintable = next((char for char in value if not char.isprintable()), None)
    if unprintable is not None:
        raise ValueError(f"must be one line of printable text, without {unprintable!r}")
    return value


_PLAIN_PATH = re.compile(r"[A-Za-z0-9._/-]+")
"""What `output_dir` may hold: the Dockerfiles, their ignore files and YAML spell it as is."""
DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_one_printable_line)
]
ProjectPath = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_inside_project)
]
ModulePath = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
    ),
]


IMPORT_STRING = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*\Z"
)


def _import_string(value: str) -> str:
    """`package.module:attribute`, the form uvicorn and entry points use; checked here so
    a typo is a config diagnostic, not an ImportError when the app starts."""
    if not IMPORT_STRING.match(value):
        raise ValueError(
            f"{value!r} is not an import string 'package.module:attribute' "
            "(e.g. 'myproject.routes:router')"
        )
    return value


ImportString = Annotated[
    str, StringConstraints(strip_whitespace=True), AfterValidator(_import_string)
]


JOBHUNTER_COMMANDS = (
    "compile",
    "lint",
    "inspect",
    "demo",
    "init",
    "run",
    "dev",
    "ops",
    "models",
    "db",
    "migrate",
    "users",
    "login",
    "logout",
)
"""The `jobhunter` commands: an extension group of the same name could never be reached
as `jobhunter <group>` (tests/test_customisation.py checks the list against the commands)."""


def extension_group(target: str) -> str:
    """The command group a `cli.extensions` entry becomes: its attribute, with `_` as `-`
    like Typer's command names (`reports.cli:weekly_reports` -> `weekly-reports`). Known
    without importing the module, so the generated CLI's help stays import-free."""
    return target.rpartition(":")[2].replace("_", "-")


def _role_name(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,39}", value):
        raise ValueError(
            f"role {value!r} must be lowercase letters, digits, `_` or `-` (at most 40), "
            "starting with a letter"
        )
    return value


class DocsConfig(StrictModel):
    graph_svg: bool = Field(
        default=False, description="Also render core_docs/graph.svg with Graphviz's `dot`."
    )


ADMIN_ROLE = "admin"
ANY_SIGNED_IN = "*"
RoleName = Annotated[str, AfterValidator(_role_name)]


class DefaultPermissions(StrictModel):
    """Roles allowed each action on models and operations that declare none."""

    read: list[RoleName | Literal["*"]] = Field(default_factory=lambda: [ANY_SIGNED_IN])
    create: list[RoleName | Literal["*"]] = Field(default_factory=lambda: [ADMIN_ROLE])
    update: list[RoleName | Literal["*"]] = Field(default_factory=lambda: [ADMIN_ROLE])
    delete: list[RoleName | Literal["*"]] = Field(default_factory=lambda: [ADMIN_ROLE])
    run: list[RoleName | Literal["*"]] = Field(
        default_factory=lambda: [ADMIN_ROLE],
        description="Who may run an operation (and see and replay its TaskRuns).",
    )


class ApiConfig(StrictModel):
    """The generated FastAPI app. Values that differ per deployment (database, allowed
    origins, the key itself) come from environment variables at run time instead."""

    max_page_size: int = Field(
        default=100, ge=1, le=10_000, description="Most records one list request returns."
    )
    default_page_size: int = Field(
        default=25, ge=1, le=10_000, description="Records returned when a list asks for no `_end`."
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest request body the API reads; a larger one is a 413 before any "
        "of it is parsed.",
    )
    max_list_bytes: int = Field(
        default=4_194_304,
        ge=65_536,
        description="About the most JSON one list answer carries: past it, the page's large "
        "records are shortened (named in `X-Shortened-Ids`), never left out.",
    )
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:5173", "http://127.0.0.1:5173"],
        description="Browser origins allowed to call the API (the Vite dev server by default); "
        "`JOBHUNTER_CORS_ORIGINS` (comma-separated) overrides it at run time.",
    )
    auth: Literal["none", "api_key", "users"] = Field(
        default="none",
        description="`api_key`: every route but /health needs `Authorization: Bearer <key>`. "
        "`users`: people sign in (`POST /api/auth/login`) and `roles` decide what they may do.",
    )
    roles: list[RoleName] = Field(
        default_factory=lambda: ["admin", "editor", "viewer"],
        description="The role names permissions may use with `auth: users`; `admin` is "
        "always one of them and may do everything.",
    )
    default_permissions: DefaultPermissions = Field(
        default_factory=lambda: DefaultPermissions(),
        description="Who may do what to a model or operation that declares no permissions "
        "of its own; `*` is any signed-in user.",
    )
    token_ttl_s: int = Field(
        default=1800,
        ge=60,
        le=86_400,
        description="Seconds a sign-in (its token and its cookie) lasts with `auth: users`.",
    )
    api_key_env: str = Field(
        default="JOBHUNTER_API_KEY",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Environment variable holding the key when `auth` is `api_key`.",
    )
    extensions: list[ImportString] = Field(
        default_factory=list,
        description="The project's own FastAPI routers, as `module:attribute` import "
        "strings, mounted by the generated app (behind the API key when `auth` is set).",
    )
    run_lease_s: float = Field(
        default=30,
        ge=1,
        le=3600,
        description="Seconds an API or CLI process holds a run it executes without renewing "
        "the claim (it renews three times per lease while the run goes on). A run still "
        "unfinished when its lease expires is marked `abandoned` by any running API.",
    )

    @model_validator(mode="after")
    def _default_fits(self) -> ApiConfig:
        if self.default_page_size > self.max_page_size:
            raise ValueError("default_page_size must not exceed max_page_size")
        return self

    @model_validator(mode="after")
    def _known_default_roles(self) -> ApiConfig:
        if ADMIN_ROLE not in self.roles:
            self.roles = [ADMIN_ROLE, *self.roles]
        known = {*self.roles, ANY_SIGNED_IN}
        for action, roles in self.default_permissions:
            unknown = [role for role in roles if role not in known]
            if unknown:
                raise ValueError(
                    f"default_permissions.{action} names {', '.join(unknown)}, not in roles"
                )
        return self


class CliConfig(StrictModel):
    """The generated Typer CLI (`jobhunter ops`/`models`, `python -m cli`)."""

    extensions: list[ImportString] = Field(
        default_factory=list,
        description="The project's own Typer apps, as `module:attribute` import strings; "
        "each becomes a command group named after its attribute (`_` as `-`), imported "
        "only when it runs.",
    )

    @field_validator("extensions")
    @classmethod
    def _distinct_groups(cls, value: list[str]) -> list[str]:
        seen = {name: "a jobhunter command" for name in JOBHUNTER_COMMANDS}
        for target in value:
            group = extension_group(target)
            if group in seen:
                raise ValueError(
                    f"{target!r} would be the command group {group!r}, already taken by "
                    f"{seen[group]}; rename the attribute"
                )
            seen[group] = repr(target)
        return value


def _pinned_tag(value: str) -> str:
    if value.rpartition(":")[2] == "latest":
        raise ValueError("name a fixed tag, not 'latest', so a rebuild gets the same image")
    return value


ImageName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9_][A-Za-z0-9._-]*$"
    ),
    AfterValidator(_pinned_tag),
]


class DockerConfig(StrictModel):
    """The Dockerfiles and docker-compose.yml. Defaults are the versions the generated
    code is tested with."""

    python_image: ImageName = Field(
        default="python:3.11-slim", description="Base image of the API (and Prefect worker)."
    )
    node_image: ImageName = Field(
        default="node:20-slim", description="Image that builds the frontend."
    )
    nginx_image: ImageName = Field(
        default="nginxinc/nginx-unprivileged:1.27-alpine",
        description="Image that serves the built frontend, as a user that is not root: its "
        "pid and temporary files must be in /tmp, as nginx-unprivileged keeps them.",
    )
    port: int = Field(
        default=8080,
        ge=1,
        le=65535,
        description="Host port of the frontend (the API is under /api on it); inside the "
        "image nginx listens on 8080.",
    )


class PrefectConfig(StrictModel):
    """Prefect orchestration, used when `orchestration` is `prefect`."""

    work_pool: str = Field(
        default="jobhunter",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
        description="Work pool the deployments and the worker use.",
    )
    retries: int = Field(
        default=0, ge=0, le=100, description="Retries of an operation that sets none."
    )
    retry_delay_s: float = Field(default=10, ge=0, description="Seconds between retries.")
    timeout_s: float | None = Field(
        default=None, gt=0, description="Timeout of an operation that sets none."
    )


def _matching(pattern: str, what: str) -> AfterValidator:
    """A check that the whole value matches `pattern`, failing with "... is not `what`"
    rather than with the pattern itself."""

    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


CPU_QUANTITY = r"(\d+(\.\d+)?|\d+m)"
MEMORY_QUANTITY = r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?"
MEMORY_UNITS = dict(k=1e3, M=1e6, G=1e9, T=1e12, Ki=2**10, Mi=2**20, Gi=2**30, Ti=2**40)
DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
IMAGE_PATH = r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*"
REGISTRY = rf"{DNS_SUBDOMAIN}(:\d+)?(/{IMAGE_PATH})?"
IMAGE_TAG = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"


def cpu_cores(value: str) -> float:
    """A Kubernetes CPU quantity (`250m`, `0.5`, `2`) in cores."""
    return int(value[:-1]) / 1000 if value.endswith("m") else float(value)


def memory_bytes(value: str) -> float:
    """A Kubernetes memory quantity (`512Mi`, `1G`, `1048576`) in bytes."""
    number, unit = re.fullmatch(MEMORY_QUANTITY, value).groups()  # type: ignore[union-attr]
    return float(number) * MEMORY_UNITS.get(unit or "", 1)


Trimmed = Annotated[str, StringConstraints(strip_whitespace=True)]
CpuQuantity = Annotated[Trimmed, _matching(CPU_QUANTITY, "a CPU quantity such as 250m, 0.5 or 2")]
MemoryQuantity = Annotated[
    Trimmed, _matching(MEMORY_QUANTITY, "a memory quantity such as 256Mi or 1Gi")
]
DnsLabel = Annotated[
    Trimmed, _matching(DNS_LABEL, "a DNS label (lowercase letters, digits and '-', 1-63)")
]
DnsSubdomain = Annotated[
    Trimmed, _matching(DNS_SUBDOMAIN, "a DNS name (lowercase letters, digits, '-' and '.')")
]
IngressHost = Annotated[
    Trimmed, _matching(rf"(\*\.)?{DNS_SUBDOMAIN}", "a host name such as app.example.com")
]
ImagePath = Annotated[
    Trimmed, _matching(IMAGE_PATH, "an image name (lowercase words, '/' between parts)")
]
Registry = Annotated[
    Trimmed, _matching(REGISTRY, "a registry with an optional path, e.g. ghcr.io/acme")
]
ImageTag = Annotated[
    Trimmed,
    _matching(IMAGE_TAG, "an image tag (letters, digits, '_', '.', '-'; up to 128)"),
    AfterValidator(_pinned_tag),
]
HttpUrl = Annotated[Trimmed, _matching(r"https?://[^\s\"']+", "an http(s) URL")]


class WorkloadConfig(StrictModel):
    """Replicas and the container's resources (Kubernetes quantities) of one workload."""

    replicas: int = Field(default=2, ge=1, le=1000, description="Pods it runs.")
    cpu_request: CpuQuantity = Field(default="100m", description="CPU the scheduler reserves.")
    cpu_limit: CpuQuantity = Field(default="1", description="CPU it may use at most.")
    memory_request: MemoryQuantity = Field(
        default="256Mi", description="Memory the scheduler reserves."
    )
    memory_limit: MemoryQuantity = Field(
        default="512Mi", description="Memory it may use before it is killed."
    )

    @model_validator(mode="after")
    def _requests_within_limits(self) -> WorkloadConfig:
        if cpu_cores(self.cpu_request) > cpu_cores(self.cpu_limit):
            raise ValueError("cpu_request must not exceed cpu_limit")
        if memory_bytes(self.memory_request) > memory_bytes(self.memory_limit):
            raise ValueError("memory_request must not exceed memory_limit")
        return self


class FrontendWorkloadConfig(WorkloadConfig):
    """nginx serving static files needs little."""

    cpu_request: CpuQuantity = "50m"
    cpu_limit: CpuQuantity = "500m"
    memory_request: MemoryQuantity = "32Mi"
    memory_limit: MemoryQuantity = "128Mi"


class PrefectWorkerConfig(WorkloadConfig):
    """The worker runs flow runs in its own pod, so it gets more memory than the API."""

    replicas: int = Field(default=1, ge=1, le=1000)
    memory_limit: MemoryQuantity = "1Gi"


class AutoscalingConfig(StrictModel):
    """The API's HorizontalPodAutoscaler (needs the cluster's metrics-server)."""

    min_replicas: int = Field(default=2, ge=1, le=1000)
    max_replicas: int = Field(default=10, ge=1, le=1000)
    target_cpu_utilization: int = Field(
        default=70, ge=1, le=100, description="Average CPU, in % of `cpu_request`, it keeps."
    )

    @model_validator(mode="after")
    def _ordered(self) -> AutoscalingConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must not exceed max_replicas")
        return self


class ImagesConfig(StrictModel):
    """Where the cluster pulls the images built from the Dockerfiles."""

    registry: Registry | None = Field(
        default=None, description="Registry and path prefix, e.g. `ghcr.io/acme`."
    )
    api: ImagePath | None = Field(
        default=None, description="API image name; default `<project>-api`."
    )
    frontend: ImagePath | None = Field(
        default=None, description="Frontend image name; default `<project>-frontend`."
    )
    tag: ImageTag = Field(default="0.1.0", description="Tag of both images, never `latest`.")


class IngressConfig(StrictModel):
    """The Ingress: /api to the API, everything else to the frontend."""

    host: IngressHost | None = Field(
        default=None, description="Host name it answers for; none: every host."
    )
    class_name: DnsSubdomain | None = Field(
        default=None, description="IngressClass; none: the cluster's default class."
    )


class KubernetesConfig(StrictModel):
    """The kustomize base in deploy/kubernetes/ and its dev overlay."""

    namespace: DnsLabel | None = Field(
        default=None,
        description="Namespace of every resource; default: the project name as a DNS label.",
    )
    images: ImagesConfig = Field(default_factory=ImagesConfig)
    api: WorkloadConfig = Field(default_factory=WorkloadConfig)
    autoscaling: AutoscalingConfig = Field(default_factory=AutoscalingConfig)
    frontend: FrontendWorkloadConfig = Field(default_factory=FrontendWorkloadConfig)
    prefect_worker: PrefectWorkerConfig = Field(default_factory=PrefectWorkerConfig)
    prefect_api_url: HttpUrl = Field(
        default="http://prefect-server:4200/api",
        description="The Prefect API the API and the worker use (orchestration: prefect).",
    )
    ingress: IngressConfig = Field(default_factory=IngressConfig)

    @model_validator(mode="after")
    def _replicas_within_autoscaling(self) -> KubernetesConfig:
        low, high = self.autoscaling.min_replicas, self.autoscaling.max_replicas
        if not low <= self.api.replicas <= high:
            raise ValueError(
                f"api.replicas ({self.api.replicas}) must lie within autoscaling's "
                f"min_replicas..max_replicas ({low}..{high})"
            )
        return self


class Config(StrictModel):
    project: DisplayName | None = Field(
        default=None,
        description="Project name shown in docs and UIs; one line of printable text "
        '(default: `[project].name` of pyproject.toml, else "app").',
    )
    models: list[ProjectPath] = Field(
        default_factory=lambda: list(DEFAULT_MODELS),
        description="Folders, files or globs holding @datamodel classes.",
    )
    operations: list[ProjectPath] = Field(
        default_factory=lambda: list(DEFAULT_OPERATIONS),
        description="Folders, files or globs holding @operation functions.",
    )
    source_roots: list[ProjectPath] = Field(
        default_factory=lambda: ["."],
        description="Folders module names are computed from (like entries of sys.path). "
        "`src` is added automatically when scanned files live under it.",
    )
    exclude: list[Annotated[ProjectPath, AfterValidator(_valid_glob)]] = Field(
        default_factory=list, description="Globs (relative to the project) never scanned."
    )
    decorator_modules: list[ModulePath] = Field(
        default_factory=list,
        description="Extra module paths whose `datamodel`/`operation` are ours, "
        "e.g. a legacy `core.decorators` that re-exports them.",
    )
    output_dir: ProjectPath = Field(default=".run_cache", description="Where generated files go.")
    templates_dir: ProjectPath | None = Field(
        default=None,
        description="Folder of template overrides: a file with the same relative path as a "
        "built-in template (e.g. `api/app.py.j2`) replaces it.",
    )

    migrations_dir: ProjectPath = Field(
        default="migrations",
        description="Folder of the Beanie migrations and the schema snapshot (`schema.json`) "
        "`jobhunter migrate` writes; commit it. Never inside `output_dir`.",
    )

    @field_validator("output_dir")
    @classmethod
    def _own_folder(cls, value: str) -> str:
        if PurePosixPath(value) == PurePosixPath("."):
            raise ValueError("must be a folder of its own, not the project root")
        if not _PLAIN_PATH.fullmatch(value):
            raise ValueError("may hold only letters, digits, '.', '_', '-' and '/'")
        return value

    docs: DocsConfig = Field(default_factory=DocsConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    cli: CliConfig = Field(default_factory=CliConfig)
    docker: DockerConfig = Field(default_factory=DockerConfig)
    orchestration: Literal["none", "prefect"] = Field(
        default="none",
        description="`prefect`: emit Prefect tasks/flows and send `?background=true` runs "
        "to Prefect workers.",
    )
    prefect: PrefectConfig = Field(default_factory=PrefectConfig)
    kubernetes: KubernetesConfig = Field(default_factory=KubernetesConfig)

    @property
    def schema_snapshot(self) -> str:
        """The snapshot of the models' stored shape, relative to the project."""
        return (PurePosixPath(self.migrations_dir) / SCHEMA_SNAPSHOT_FILE).as_posix()

    @model_validator(mode="after")
    def _migrations_outside_output(self) -> Config:
        migrations, output = PurePosixPath(self.migrations_dir), PurePosixPath(self.output_dir)
        if migrations == output or output in migrations.parents or migrations in output.parents:
            raise ValueError(
                f"migrations_dir ({self.migrations_dir!r}) must not be inside output_dir "
                f"({self.output_dir!r}), nor hold it: the output folder is regenerated"
            )
        return self


class ConfigResult(BaseModel):
    config: Config
    diagnostics: list[Diagnostic]
    text: str | None = Field(default=None, description="The raw file, hashed into the manifest.")


def load_config(project_dir: Path) -> ConfigResult:
    """Read `.jobhunter.yml` (absent means all defaults). Never raises on bad content."""
    path = project_dir / CONFIG_FILE
    if not path.is_file():
        return ConfigResult(config=Config(), diagnostics=[])
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text) if node is not None else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return ConfigResult(
            config=Config(),
            text=text,
            diagnostics=[
                diagnostic(
                    "JH002",
                    f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                    CONFIG_FILE,
                    mark.line + 1 if mark else None,
                    mark.column + 1 if mark else None,
                )
            ],
        )
    duplicates = list(_duplicate_keys(node))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return ConfigResult(
            config=Config(),
            text=text,
            diagnostics=[
                diagnostic("JH002", "the file must be a mapping of keys", CONFIG_FILE, 1, 1)
            ],
        )
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        errors = [_config_error(error, node) for error in exc.errors()]
        return ConfigResult(config=Config(), text=text, diagnostics=[*duplicates, *errors])
    missing = _missing_templates_dir(project_dir, config, node)
    return ConfigResult(config=config, diagnostics=[*duplicates, *missing], text=text)


def _missing_templates_dir(
    project_dir: Path, config: Config, node: yaml.Node | None
) -> list[Diagnostic]:
    """`templates_dir` must exist: silently rendering the built-ins instead of the user's
    overrides would look like the overrides were ignored."""
    if config.templates_dir is None or (project_dir / config.templates_dir).is_dir():
        return []
    line, col = _locate(node, ("templates_dir",), key=False)
    message = f"'templates_dir': folder {config.templates_dir!r} does not exist"
    hint = "create it, or remove the key to use the built-in templates only"
    return [diagnostic("JH002", message, CONFIG_FILE, line, col, hint)]


def _duplicate_keys(node: yaml.Node | None) -> Iterator[Diagnostic]:
    """A key given twice is almost always a mistake (PyYAML silently keeps the last)."""
    if isinstance(node, yaml.MappingNode):
        first_lines: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value)
            if name in first_lines:
                yield diagnostic(
                    "JH002",
                    f"duplicate key '{name}' (first given on line {first_lines[name]})",
                    CONFIG_FILE,
                    key.start_mark.line + 1,
                    key.start_mark.column + 1,
                    hint="remove one of them; only the last one takes effect",
                )
            else:
                first_lines[name] = key.start_mark.line + 1
            yield from _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item)


def _config_error(error: dict[str, Any], root: yaml.Node | None) -> Diagnostic:
    loc = tuple(error["loc"])
    dotted = ".".join(str(part) for part in loc)
    if error["type"] == "extra_forbidden":
        message = f"unknown key '{dotted}'"
        hint = _suggest(loc, error)
    else:
        message = f"'{dotted}': {error['msg']}"
        hint = None
    line, col = _locate(root, loc, key=error["type"] == "extra_forbidden")
    return diagnostic("JH002", message, CONFIG_FILE, line, col, hint)


def _suggest(loc: tuple, error: dict[str, Any]) -> str | None:
    model: type[BaseModel] = Config
    for part in loc[:-1]:
        annotation = model.model_fields.get(str(part))
        if annotation is None or not isinstance(annotation.annotation, type):
            return None
        model = annotation.annotation
    return did_you_mean(str(loc[-1]), model.model_fields) or (
        f"known keys here: {', '.join(model.model_fields)}"
    )


def _locate(node: yaml.Node | None, loc: tuple, key: bool) -> tuple[int | None, int | None]:
    """Line/column (1-based) of the YAML node at `loc`; of its key when `key` is set."""
    found: yaml.Node | None = node
    for depth, part in enumerate(loc):
        if isinstance(found, yaml.MappingNode):
            # The last occurrence: for a duplicated key, that is the value PyYAML keeps.
            matches = [kv for kv in found.value if kv[0].value == str(part)]
            match = matches[-1] if matches else None
            if match is None:
                break
            is_last = depth == len(loc) - 1
            found = match[0] if (key and is_last) else match[1]
        elif isinstance(found, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(found.value):
                break
            found = found.value[part]
        else:
            break
    if found is None:
        return None, None
    return found.start_mark.line + 1, found.start_mark.column + 1
