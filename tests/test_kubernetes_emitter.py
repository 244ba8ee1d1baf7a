"""The Kubernetes manifests, checked with real tools and no cluster: kustomize (kubectl's)
renders the base and the dev overlay, kubernetes-validate --strict checks every resource
against the API schemas of pinned Kubernetes versions, and checkov checks the manifests
and both Dockerfiles. Then the manifests against the config and the images they run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT, TOOLS_VENV, copy_project, dockerfile_instructions

from jobhunter_compiler.config import Config
from jobhunter_compiler.emit.docker import DOCKERFILE, DOCKERFILE_FRONTEND
from jobhunter_compiler.pipeline import compile_project

KUBECTL = shutil.which("kubectl")
KUBERNETES_VALIDATE = Path(sys.executable).parent / "kubernetes-validate"
CHECKOV = TOOLS_VENV / "bin" / "checkov"
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
"""The oldest and the newest Kubernetes release the manifests are validated for."""
CHECKOV_SKIPS = {
    # "Image should use digest": a digest exists only once an image is pushed. The images
    # carry fixed tags (the config refuses `latest`); an overlay can pin digests with
    # kustomize's `images` field.
    "CKV_K8S_43",
    # "Prefer using secrets as files": the app reads MONGODB_URL and its API key from the
    # environment, as it does under docker compose; the values stay out of the manifests.
    "CKV_K8S_35",
    # "Image Pull Policy should be Always": for fixed tags IfNotPresent is Kubernetes' own
    # default, and Always would keep a local cluster (kind, minikube) from running images
    # loaded into it without a registry.
    "CKV_K8S_15",
}
WORKLOAD_CHECKS = {
    "CKV_K8S_8",  # liveness probe
    "CKV_K8S_9",  # readiness probe
    "CKV_K8S_10",  # CPU request
    "CKV_K8S_11",  # CPU limit
    "CKV_K8S_12",  # memory request
    "CKV_K8S_13",  # memory limit
    "CKV_K8S_20",  # no privilege escalation
    "CKV_K8S_22",  # read-only root file system
    "CKV_K8S_23",  # not root
    "CKV_K8S_28",  # no NET_RAW
    "CKV_K8S_31",  # seccomp RuntimeDefault
    "CKV_K8S_37",  # no capabilities
    "CKV_K8S_38",  # no service account token
    "CKV_K8S_40",  # a high uid
}
"""Checks that must have run, and passed, on every Deployment and StatefulSet."""
CONFIGURED = """\
project: "2024"
orchestration: prefect
prefect:
  work_pool: "1234"
api:
  auth: api_key
kubernetes:
  namespace: jobs
  images:
    registry: registry.example.com:5000/team
    api: jobs/api
    tag: "1.4.2"
  api:
    replicas: 3
    cpu_limit: 1500m
    memory_request: 300Mi
    memory_limit: 768Mi
  autoscaling:
    min_replicas: 3
    max_replicas: 12
    target_cpu_utilization: 60
  frontend:
    replicas: 1
  ingress:
    host: jobs.example.com
    class_name: nginx
"""
"""Kubernetes keys of every section set, Prefect and an API key; names that YAML would read
as numbers unless the manifests quote them."""
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d|UTC")


@dataclass
class Deploy:
    """A compiled project and its kustomizations, rendered."""

    project: Path
    rendered: dict[str, Path]
    """`base` and `dev`: the output of `kubectl kustomize` on each, in a file."""

    @property
    def out(self) -> Path:
        return self.project / ".run_cache"

    @property
    def kubernetes(self) -> Path:
        return self.out / "deploy" / "kubernetes"

    def resources(self, which: str) -> dict[tuple[str, str], dict]:
        documents = yaml.safe_load_all(self.rendered[which].read_text())
        return {(doc["kind"], doc["metadata"]["name"]): doc for doc in documents}


def kustomize(folder: Path) -> str:
    if KUBECTL is None:
        pytest.fail("kubectl (with kustomize v5) is missing; it comes with the machine image")
    done = subprocess.run(
        [KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def compiled(root: Path, name: str, config: str) -> Deploy:
    project = copy_project(REPO_ROOT / "fixtures" / "demo_project", root / name)
    (project / ".jobhunter.yml").write_text(config)
    result = compile_project(project, mode="write")
    assert result.ok, [d.message for d in result.diagnostics]
    deploy = Deploy(project=project, rendered={})
    for which, folder in (("base", "base"), ("dev", "overlays/dev")):
        path = root / f"{name}-{which}.yaml"
        path.write_text(kustomize(deploy.kubernetes / folder))
        deploy.rendered[which] = path
    return deploy


@pytest.fixture(scope="module")
def deploys(tmp_path_factory: pytest.TempPathFactory) -> list[Deploy]:
    """The demo with the defaults, and with CONFIGURED."""
    root = tmp_path_factory.mktemp("kubernetes")
    return [compiled(root, "defaults", ""), compiled(root, "configured", CONFIGURED)]


@pytest.fixture(scope="module")
def defaults(deploys: list[Deploy]) -> Deploy:
    return deploys[0]


@pytest.fixture(scope="module")
def configured(deploys: list[Deploy]) -> Deploy:
    return deploys[1]


def manifests(deploy: Deploy) -> list[Path]:
    return [*deploy.rendered.values(), deploy.kubernetes / "secret.example.yaml"]


def kubernetes_validate(version: str, paths: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KUBERNETES_VALIDATE), "--strict", "-k", version, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_for_kubernetes(deploys: list[Deploy], version: str) -> None:
    for deploy in deploys:
        paths = manifests(deploy)
        done = kubernetes_validate(version, paths)
        assert done.returncode == 0, done.stdout + done.stderr
        documents = sum(len(list(yaml.safe_load_all(path.read_text()))) for path in paths)
        assert done.stdout.count(" passed for resource ") == documents, done.stdout


def test_strict_validation_rejects_an_unknown_field(defaults: Deploy, tmp_path: Path) -> None:
    """The check above can fail: a misspelt field is an error under --strict."""
    deployment = defaults.resources("base")[("Deployment", "api")]
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFilesystem"] = True
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(deployment))
    done = kubernetes_validate(KUBERNETES_VERSIONS[0], [bad])
    assert done.returncode != 0
    assert "readOnlyRootFilesystem' was unexpected" in done.stdout


def checkov(folder: Path) -> dict[str, dict]:
    """checkov's JSON report of `folder`, by framework."""
    assert CHECKOV.is_file(), "checkov runs from its own venv: `make tools`"
    done = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(folder),
            "--framework",
            "kubernetes",
            "dockerfile",
            "--output",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.stdout.strip(), done.stderr[-3000:]
    reports = json.loads(done.stdout)
    return {report["check_type"]: report for report in reports}


def test_checkov_fails_nothing_but_the_documented_skips(
    deploys: list[Deploy], tmp_path: Path
) -> None:
    """One checkov run over a folder per project (its start-up dominates the time)."""
    for deploy in deploys:
        folder = tmp_path / deploy.project.name
        folder.mkdir()
        for path in [*manifests(deploy), deploy.out / DOCKERFILE, deploy.out / DOCKERFILE_FRONTEND]:
            shutil.copy(path, folder / path.name)
    reports = checkov(tmp_path)
    assert set(reports) == {"kubernetes", "dockerfile"}
    failed = [
        (check["check_id"], check["file_abs_path"], check["resource"])
        for report in reports.values()
        for check in report["results"]["failed_checks"]
    ]
    assert {check_id for check_id, _, _ in failed} <= CHECKOV_SKIPS, failed
    # What passed, by (project, Kubernetes resource or Dockerfile name).
    passed: dict[tuple[str, str], set[str]] = {}
    for kind, report in reports.items():
        assert report["summary"]["parsing_errors"] == 0
        for check in report["results"]["passed_checks"]:
            path = Path(check["file_abs_path"])
            subject = path.name if kind == "dockerfile" else check["resource"]
            passed.setdefault((path.parent.name, subject), set()).add(check["check_id"])
    for deploy in deploys:
        project = deploy.project.name
        for (kind, name), doc in deploy.resources("dev").items():
            if kind in ("Deployment", "StatefulSet"):
                resource = f"{kind}.{doc['metadata']['namespace']}.{name}"
                missing = WORKLOAD_CHECKS - passed.get((project, resource), set())
                assert not missing, (project, resource, missing)
        for dockerfile in (DOCKERFILE, DOCKERFILE_FRONTEND):
            # A HEALTHCHECK, a user created, and that user last.
            checks = passed.get((project, dockerfile), set())
            assert {"CKV_DOCKER_2", "CKV_DOCKER_3", "CKV_DOCKER_8"} <= checks, dockerfile


def test_the_base_and_the_dev_overlay_hold_every_resource(deploys: list[Deploy]) -> None:
    base_kinds = {
        ("Namespace", None),
        ("ConfigMap", "app-settings"),
        ("Deployment", "api"),
        ("Service", "api"),
        ("HorizontalPodAutoscaler", "api"),
        ("NetworkPolicy", "api"),
        ("Deployment", "frontend"),
        ("Service", "frontend"),
        ("NetworkPolicy", "frontend"),
        ("Ingress", None),
    }
    worker = {("Deployment", "prefect-worker"), ("NetworkPolicy", "prefect-worker")}
    mongo = {("StatefulSet", "mongo"), ("Service", "mongo"), ("NetworkPolicy", "mongo")}
    for deploy, expected in zip(deploys, (base_kinds, base_kinds | worker), strict=True):
        for which, extra in (("base", set()), ("dev", mongo)):
            resources = deploy.resources(which)
            names = {
                (kind, None if kind in ("Namespace", "Ingress") else _unhashed(name))
                for kind, name in resources
            }
            assert names == expected | extra, (deploy.project.name, which)
            namespace = next(name for kind, name in resources if kind == "Namespace")
            for (kind, _), doc in resources.items():
                if kind != "Namespace":
                    assert doc["metadata"]["namespace"] == namespace
        # Every manifest of the base is one of its resources: nothing lies there unused.
        listed = yaml.safe_load((deploy.kubernetes / "base" / "kustomization.yaml").read_text())
        files = {p.name for p in (deploy.kubernetes / "base").iterdir()} - {"kustomization.yaml"}
        assert set(listed["resources"]) == files


def _unhashed(name: str) -> str:
    """A generated ConfigMap's name without the hash kustomize appends."""
    return re.sub(r"-[a-z0-9]{10}$", "", name)


def containers(doc: dict) -> list[dict]:
    return doc["spec"]["template"]["spec"]["containers"]


def of_kind(resources: dict[tuple[str, str], dict], kind: str) -> list[dict]:
    return [doc for (each, _), doc in resources.items() if each == kind]


def secret_refs(container: dict) -> list[str]:
    """The Secrets a container takes its environment from."""
    return [s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s]


def test_the_api_follows_the_config(deploys: list[Deploy]) -> None:
    defaults, configured = deploys
    api = defaults.resources("base")[("Deployment", "api")]
    assert api["spec"]["replicas"] == 2
    (container,) = containers(api)
    assert container["image"] == "app-api:0.1.0"
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"},
    }

    resources = configured.resources("base")
    api = resources[("Deployment", "api")]
    assert api["metadata"]["namespace"] == "jobs"
    assert api["spec"]["replicas"] == 3
    (container,) = containers(api)
    assert container["image"] == "registry.example.com:5000/team/jobs/api:1.4.2"
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "300Mi"},
        "limits": {"cpu": "1500m", "memory": "768Mi"},
    }
    frontend = resources[("Deployment", "frontend")]
    assert frontend["spec"]["replicas"] == 1
    assert containers(frontend)[0]["image"] == "registry.example.com:5000/team/2024-frontend:1.4.2"
    hpa = resources[("HorizontalPodAutoscaler", "api")]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 12)
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 60


def test_every_pod_is_locked_down(deploys: list[Deploy]) -> None:
    """Not root, read-only root file system with a writable /tmp, no privilege escalation,
    no capabilities, RuntimeDefault seccomp, no service account token; probes on a port
    the container declares."""
    for deploy in deploys:
        for (kind, name), doc in deploy.resources("dev").items():
            if kind not in ("Deployment", "StatefulSet"):
                continue
            pod = doc["spec"]["template"]["spec"]
            assert pod["automountServiceAccountToken"] is False
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["runAsUser"] >= 10000
            assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            tmp = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
            for container in pod["containers"]:
                security = container["securityContext"]
                assert security["readOnlyRootFilesystem"] is True, name
                assert security["allowPrivilegeEscalation"] is False, name
                assert security["capabilities"] == {"drop": ["ALL"]}, name
                mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
                assert mounts["/tmp"] in tmp, name
                ports = {p["name"] for p in container["ports"]}
                for probe in ("readinessProbe", "livenessProbe"):
                    action = container[probe].get("httpGet") or container[probe]["tcpSocket"]
                    assert action["port"] in ports, (name, probe)
                assert set(container["resources"]) == {"requests", "limits"}, name
        (namespace,) = of_kind(deploy.resources("base"), "Namespace")
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_api_is_probed_on_health(defaults: Deploy) -> None:
    (container,) = containers(defaults.resources("base")[("Deployment", "api")])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 8000}]


def test_the_ingress_routes_api_and_frontend(deploys: list[Deploy]) -> None:
    for deploy in deploys:
        resources = deploy.resources("base")
        (ingress,) = of_kind(resources, "Ingress")
        (rule,) = ingress["spec"]["rules"]
        routes = {
            path["path"]: (path["pathType"], path["backend"]["service"])
            for path in rule["http"]["paths"]
        }
        assert routes == {
            "/api": ("Prefix", {"name": "api", "port": {"name": "http"}}),
            "/": ("Prefix", {"name": "frontend", "port": {"name": "http"}}),
        }
        for service in ("api", "frontend"):
            ports = resources[("Service", service)]["spec"]["ports"]
            assert [p["name"] for p in ports] == ["http"]
        configured = deploy is deploys[1]
        assert rule.get("host") == ("jobs.example.com" if configured else None)
        assert ingress["spec"].get("ingressClassName") == ("nginx" if configured else None)


def test_the_manifests_match_the_images(deploys: list[Deploy]) -> None:
    """Ports, user and paths agree with the Dockerfiles and nginx.conf, and the frontend's
    nginx finds the API under the Service name and port it proxies /api to."""
    for deploy in deploys:
        resources = deploy.resources("base")
        api_rows = dockerfile_instructions(deploy.out / DOCKERFILE)
        front_rows = dockerfile_instructions(deploy.out / DOCKERFILE_FRONTEND)
        for rows, name in ((api_rows, "api"), (front_rows, "frontend")):
            deployment = resources[("Deployment", name)]
            uid = deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
            user = [args for word, args in rows if word == "USER"][-1]
            assert user == f"{uid}:{uid}"
            (port,) = containers(deployment)[0]["ports"]
            assert ("EXPOSE", str(port["containerPort"])) in rows
        nginx = (deploy.out / "nginx.conf").read_text()
        api_port = resources[("Service", "api")]["spec"]["ports"][0]["port"]
        assert f"proxy_pass http://api:{api_port};" in nginx
        (front_port,) = containers(resources[("Deployment", "frontend")])[0]["ports"]
        assert f"listen {front_port['containerPort']};" in nginx


def test_the_prefect_worker_only_with_orchestration(deploys: list[Deploy]) -> None:
    defaults, configured = deploys
    assert ("Deployment", "prefect-worker") not in defaults.resources("base")
    worker = configured.resources("base")[("Deployment", "prefect-worker")]
    (container,) = containers(worker)
    api = containers(configured.resources("base")[("Deployment", "api")])[0]
    assert container["image"] == api["image"]
    assert container["command"][:3] == ["prefect", "worker", "start"]
    assert container["command"][container["command"].index("--pool") + 1] == "1234"
    assert "--with-healthcheck" in container["command"]
    assert container["envFrom"] == api["envFrom"]
    prefect = yaml.safe_load((configured.out / "orchestration" / "prefect.yaml").read_text())
    step = prefect["pull"][0]["prefect.deployments.steps.set_working_directory"]
    assert container["workingDir"] == step["directory"]
    settings = _settings(configured)
    assert settings["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    assert "PREFECT_API_URL" not in _settings(defaults)


def _settings(deploy: Deploy) -> dict[str, str]:
    (config_map,) = of_kind(deploy.resources("base"), "ConfigMap")
    return config_map["data"]


def test_settings_are_a_config_map_and_secrets_stay_out(deploys: list[Deploy]) -> None:
    for deploy, database in zip(deploys, ("app", "n2024"), strict=True):
        settings = _settings(deploy)
        assert settings["MONGODB_DB"] == database
        assert settings["JOBHUNTER_CORS_ORIGINS"] == ""
        for doc in deploy.resources("dev").values():
            assert doc["kind"] != "Secret"
        secret = yaml.safe_load((deploy.kubernetes / "secret.example.yaml").read_text())
        keys = {"MONGODB_URL", "JOBHUNTER_API_KEY"} if deploy is deploys[1] else {"MONGODB_URL"}
        assert secret["stringData"] == dict.fromkeys(keys, "")
        name = secret["metadata"]["name"]
        clients = {"api": [name], "frontend": []}
        if deploy is deploys[1]:
            clients["prefect-worker"] = [name]
        deployments = of_kind(deploy.resources("base"), "Deployment")
        refs = {d["metadata"]["name"]: secret_refs(containers(d)[0]) for d in deployments}
        assert refs == clients


def test_the_dev_mongo_admits_only_its_clients(configured: Deploy) -> None:
    resources = configured.resources("dev")
    clients = {
        doc["metadata"]["name"]
        for doc in of_kind(resources, "Deployment")
        if secret_refs(containers(doc)[0])
    }
    assert clients == {"api", "prefect-worker"}
    policy = resources[("NetworkPolicy", "mongo")]["spec"]
    (rule,) = policy["ingress"]
    (source,) = rule["from"]
    (expression,) = source["podSelector"]["matchExpressions"]
    assert set(expression["values"]) == clients
    mongo = resources[("StatefulSet", "mongo")]
    assert mongo["spec"]["replicas"] == 1
    assert mongo["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert resources[("Service", "mongo")]["spec"]["clusterIP"] == "None"


def test_generated_yaml_files_say_so_without_timestamps(deploys: list[Deploy]) -> None:
    for deploy in deploys:
        files = sorted(deploy.kubernetes.rglob("*.yaml"))
        assert len(files) >= 8
        for path in files:
            text = path.read_text()
            assert text.startswith("# Generated by jobhunter"), path
            assert not TIMESTAMP.search(text), path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kubernetes:\n  api:\n    cpu_limit: 2 cores\n", "is not a CPU quantity"),
        ("kubernetes:\n  api:\n    memory_request: 2Gi\n", "memory_request must not exceed"),
        ("kubernetes:\n  api:\n    replicas: 20\n", "must lie within autoscaling"),
        ("kubernetes:\n  images:\n    tag: latest\n", "not 'latest'"),
        ("kubernetes:\n  namespace: My_Jobs\n", "is not a DNS label"),
        ("kubernetes:\n  ingres:\n    host: x\n", "unknown key 'kubernetes.ingres'"),
    ],
)
def test_bad_kubernetes_config_is_a_diagnostic(tmp_path: Path, text: str, message: str) -> None:
    project = copy_project(REPO_ROOT / "fixtures" / "demo_project", tmp_path / "demo")
    (project / ".jobhunter.yml").write_text(text)
    result = compile_project(project, mode="write")
    assert not result.ok
    (found,) = [d for d in result.diagnostics if d.code == "JH002"]
    assert message in found.message, found.message
    assert found.line is not None
    assert not (project / ".run_cache").exists()


def test_the_example_config_documents_every_kubernetes_key_with_its_default() -> None:
    example = yaml.safe_load((REPO_ROOT / ".jobhunter.yml.example").read_text())

    def keys(data: dict, prefix: str = "") -> set[str]:
        found = set()
        for key, value in data.items():
            found.add(f"{prefix}{key}")
            if isinstance(value, dict):
                found |= keys(value, f"{prefix}{key}.")
        return found

    defaults = Config().kubernetes.model_dump()
    assert keys(example["kubernetes"]) == keys(defaults)
    assert Config.model_validate(example).kubernetes.model_dump() == defaults
