"""The CI recipes of docs/ci/ as far as this machine can run them: both parsed as YAML with the structure their CI
reads, every shell step checked by bash, and the GitHub workflow's steps after the host packages (pip install of
uniforge's wheel into a fresh venv, doctor, build, the pytest plugin under xdist) run in a small app's repository
as the runner would run them (each step a bash of its own, $GITHUB_PATH honoured), then GitLab's script lines
with the same venv. The outputs they upload are checked: the build report and the test report."""
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLES, ROOT
from uniforge.core.paths import cache_root

RECIPES = ROOT / "docs" / "ci"
TARGET = "qemu-x86_64"
HOST_PACKAGES = "Host packages"     # the step that needs a Debian container's apt: checked, not run here
APP_TEST = '''
import pytest


@pytest.mark.uniforge(app=".", args=["from-ci"])
def test_hello(unikernel):
    assert unikernel.wait(120).ok
    assert "argv[1] = from-ci" in unikernel.console.text
'''


def github():
    return yaml.safe_load((RECIPES / "github-actions.yml").read_text())


def gitlab():
    return yaml.safe_load((RECIPES / "gitlab-ci.yml").read_text())["unikernels"]


def bash_checks(script: str) -> None:
    proc = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert proc.returncode == 0, f"{proc.stderr}\n{script}"


def test_github_workflow_structure():
    workflow = github()
    job = workflow["jobs"]["test"]
    assert TARGET in job["strategy"]["matrix"]["target"] and job["env"]["TARGET"] == "${{ matrix.target }}"
    uses = {step.get("uses", "").split("@")[0]: step for step in job["steps"]}
    assert uses["actions/cache"]["with"]["path"] == ".uniforge-cache"
    assert workflow["env"]["UNIFORGE_CACHE"].endswith("/.uniforge-cache")
    assert uses["actions/upload-artifact"]["if"] == "always()"
    for step in job["steps"]:
        if "run" in step:
            bash_checks(step["run"])


def test_gitlab_job_structure():
    job = gitlab()
    assert TARGET in job["parallel"]["matrix"][0]["TARGET"]
    assert job["cache"]["paths"] == [".uniforge-cache/"] and job["variables"]["UNIFORGE_CACHE"].endswith(
        "/.uniforge-cache")
    assert job["artifacts"]["when"] == "always" and job["artifacts"]["reports"]["junit"] == "dist/$TARGET/junit.xml"
    for line in job["before_script"] + job["script"]:
        bash_checks(line)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, ROOT], check=True,
                   capture_output=True)
    return next(out.glob("uniforge-*.whl"))


def run_step(script: str, repo: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=1800)
    assert proc.returncode == 0, f"step failed:\n{script}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def test_the_recipes_commands_build_and_test_an_app(tmp_path, wheel):
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "hello", repo, ignore=shutil.ignore_patterns("build"))
    (repo / "tests").mkdir()
    (repo / "tests" / "test_hello.py").write_text(APP_TEST)
    github_path = tmp_path / "github_path"
    github_path.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST", "VIRTUAL_ENV"))}
    # The cache the recipe keeps between runs: this machine's (a cold one would rebuild the libc for minutes).
    env.update(UNIFORGE=str(wheel), UNIFORGE_CACHE=str(cache_root()), TARGET=TARGET, GITHUB_PATH=str(github_path))
    for step in github()["jobs"]["test"]["steps"]:
        if "run" not in step or step["name"] == HOST_PACKAGES:
            continue
        paths = [line for line in github_path.read_text().splitlines() if line]
        run_step(step["run"], repo, dict(env, PATH=os.pathsep.join([*reversed(paths), env["PATH"]])))
    assert (repo / ".venv" / "bin" / "uniforge").exists()
    build = json.loads((repo / "dist" / TARGET / "build.json").read_text())
    assert build["schema"] == 1 and Path(build["image"]) == repo / "dist" / TARGET / f"hello.{TARGET}"
    report = ET.parse(repo / "dist" / TARGET / "junit.xml").getroot().find("testsuite")
    assert (report.get("tests"), report.get("failures"), report.get("errors")) == ("1", "0", "0")

    shutil.rmtree(repo / "dist")
    job = gitlab()
    lines = [line for line in job["before_script"] if line.startswith("export")] + job["script"]
    run_step("\n".join(lines), repo, env)
    report = ET.parse(repo / "dist" / TARGET / "junit.xml").getroot().find("testsuite")
    assert (report.get("tests"), report.get("failures"), report.get("errors")) == ("1", "0", "0")
