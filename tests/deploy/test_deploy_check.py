"""`make deploy-check` (scripts/deploy_check.py) passes on the repository's files and
catches what it is for: schema errors, inlined secrets, Dockerfile lint."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("deploy_check", ROOT / "scripts/deploy_check.py")
deploy_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(deploy_check)


def _by_key(objects):
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def test_the_base_renders_what_the_issue_asks_for():
    objects = _by_key(deploy_check.render())
    web = objects[("Deployment", "dim-web")]
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {  # the seed's requests and limits
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "2000m", "memory": "4Gi"},
    }
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["image"] == "dim:latest"
    assert web["metadata"]["namespace"] == "dim"
    assert objects[("Deployment", "dim-beat")]["spec"]["replicas"] == 1
    for kind in ("Job", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"):
        assert any(k == kind for k, _ in objects), kind
    assert not any(k == "Secret" for k, _ in objects)


def test_the_repository_files_pass():
    done = subprocess.run(
        [sys.executable, "scripts/deploy_check.py"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "objects valid" in done.stdout


def test_a_schema_error_fails():
    objects = deploy_check.render()
    web = next(o for o in objects if o["metadata"]["name"] == "dim-web")
    web["spec"]["replicas"] = "three"
    with pytest.raises(deploy_check.CheckFailed, match="dim-web"):
        deploy_check.validate(objects, "1.33.0")
    web["spec"]["replicas"] = 3
    web["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}  # a typo: strict
    with pytest.raises(deploy_check.CheckFailed, match="livenesProbe"):
        deploy_check.validate(objects, "1.33.0")


def test_an_inlined_secret_fails():
    objects = deploy_check.render()
    worker = next(o for o in objects if o["metadata"]["name"] == "dim-worker")
    env = [{"name": "DJANGO_SECRET_KEY", "value": "x" * 60}]
    worker["spec"]["template"]["spec"]["containers"][0]["env"] = env
    with pytest.raises(deploy_check.CheckFailed, match="DJANGO_SECRET_KEY"):
        deploy_check.secrets_not_inlined(objects, {"services": {}})
    compose = {"services": {"db": {"environment": {"POSTGRES_PASSWORD": "secret"}}}}
    with pytest.raises(deploy_check.CheckFailed, match="POSTGRES_PASSWORD"):
        deploy_check.secrets_not_inlined(deploy_check.render(), compose)
    referenced = {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
    worker["spec"]["template"]["spec"]["containers"][0]["env"] = [referenced]
    deploy_check.secrets_not_inlined(objects, {"services": {}})


def test_hadolint_flags_a_bad_dockerfile(tmp_path):
    binary = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    done = subprocess.run([binary, str(bad)], capture_output=True, text=True)
    assert done.returncode != 0
    assert "DL3007" in done.stdout  # the :latest tag
