"""The GitHub workflows: the test workflow runs the README's test command, the book workflow
builds from the stored results and deploys _build/html to Pages; both pass the workflow
schema (action-validator, from npm: ``npm install @action-validator/cli``), which is run
where it is installed."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def test_tests_workflow_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make test" in (ROOT / ".ci" / "run").read_text()
    workflow = load("tests.yml")
    triggers = workflow[True]  # YAML reads the key `on` as True
    assert "pull_request" in triggers and "push" in triggers
    runs = [s.get("run", "") for s in steps(workflow, "test")]
    assert "make test" in runs


def test_book_workflow_builds_from_stored_results_and_deploys_pages():
    workflow = load("book.yml")
    build = steps(workflow, "build")
    make = next(s for s in build if s.get("run") == "make book")
    assert make["env"]["CI"] == "true"  # a missing record fails instead of training
    upload = next(s for s in build if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    deploy = steps(workflow, "deploy")
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in deploy)
    assert workflow["permissions"]["pages"] == "write"


def _validator() -> str | None:
    found = os.environ.get("ACTION_VALIDATOR") or shutil.which("action-validator")
    local = ROOT / "node_modules" / ".bin" / "action-validator"
    return found or (str(local) if local.exists() else None)


@pytest.mark.skipif(_validator() is None, reason="action-validator is not installed "
                    "(npm install @action-validator/cli, or set ACTION_VALIDATOR)")
def test_workflows_pass_the_schema_and_a_broken_one_does_not(tmp_path):
    validator = _validator()
    for path in sorted(WORKFLOWS.glob("*.yml")):
        result = subprocess.run([validator, str(path)], capture_output=True, text=True)
        assert result.returncode == 0, (path.name, result.stdout[-2000:])
    broken = tmp_path / "broken.yml"
    broken.write_text((WORKFLOWS / "tests.yml").read_text().replace("runs-on:", "runz-on:"))
    assert subprocess.run([validator, str(broken)], capture_output=True).returncode != 0
