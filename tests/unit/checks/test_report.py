"""One report shape for verify, smoke and doctor: docs/checks.md's example and each command's
``--json`` read back and held to it."""

from __future__ import annotations

import io
import json
import re
from dataclasses import asdict

from typer.testing import CliRunner

from aurora.checks import doctor
from aurora.checks.report import SHAPE, Check, Report, shape_errors
from aurora.checks.smoke import smoke
from aurora.checks.verify import evaluate
from aurora.cli import app
from aurora.cli.progress import Plain
from aurora.config import VerifyPolicy
from aurora.errors import CommandError
from aurora.pipeline.labels import ImageLabels
from tests.conftest import DATA, ROOT

RECORDED_HOST = json.loads((DATA / "hosts" / "debian12-hybrid-root.json").read_text())


def read_back(report: Report) -> dict:
    return json.loads(json.dumps(report.as_dict()))


def test_the_documented_example_has_the_shape():
    text = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    example = json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))
    assert shape_errors(example) == []
    documented = re.findall(r"^\| `(\w+)", text, re.M)
    assert set(documented) == set(SHAPE), "docs/checks.md's table names every key"


def test_a_departure_from_the_shape_is_named():
    good = read_back(Report("verify", "r", [Check("labels", "pass", "ok")]))
    assert shape_errors({**good, "findings": []}) == [
        "keys ['checks', 'command', 'facts', 'findings', 'ok', 'subject'], expected ['checks', 'command', 'facts', 'ok', 'subject']"]
    bad_check = {**good, "checks": [{**good["checks"][0], "status": "ok"}]}
    assert shape_errors(bad_check) == ["checks[0].status: 'ok' is not one of pass, warn, fail, skip"]
    assert shape_errors([]) == ["not a JSON object"]


def test_verify_report_reads_back_in_the_shape():
    raw = (DATA / "recorded" / "demo-manifest.json").read_bytes()
    config = json.loads((DATA / "recorded" / "demo-config.json").read_text())
    doc = read_back(evaluate("docker://r/zero/demo:1", raw, config, VerifyPolicy(platforms=["linux/amd64"])))
    assert shape_errors(doc) == []
    assert doc["command"] == "verify" and doc["subject"] == "docker://r/zero/demo:1"
    assert doc["facts"]["digest"].startswith("sha256:") and "labels" in [c["name"] for c in doc["checks"]]


class RefusedRun:
    """A runner whose engine refuses to start the image."""

    mode = "podman"
    cleaned = False

    def start(self, port: int) -> None:
        raise CommandError(["podman", "run", "img"], 126, "Error: crun: cgroups in hybrid mode not supported")

    def state(self):
        return False, 126

    def logs(self) -> str:
        return ""

    def stop(self, grace: int):
        return None

    def cleanup(self) -> None:
        self.cleaned = True


def test_smoke_report_reads_back_in_the_shape():
    run = RefusedRun()
    report = smoke(run, "localhost/app:1", ImageLabels(web_port=8080))
    doc = read_back(report)
    assert shape_errors(doc) == [] and run.cleaned
    assert (doc["command"], doc["subject"], doc["ok"]) == ("smoke", "localhost/app:1", False)
    assert [(c["name"], c["status"]) for c in doc["checks"]] == [("start", "fail"), ("host", "fail")]
    assert isinstance(doc["checks"][0]["seconds"], float)
    assert doc["facts"]["mode"] == "podman" and "hybrid mode" in doc["facts"]["logs_tail"]


def test_smoke_says_each_check_as_a_note_in_its_stage():
    out = io.StringIO()
    smoke(RefusedRun(), "localhost/app:1", ImageLabels(web_port=8080), report=Plain(out, clock=lambda: 0.0))
    assert out.getvalue().splitlines() == [
        "aurora: [start] started",
        "aurora: FAIL start: Error: crun: cgroups in hybrid mode not supported",
        "aurora: [start] failed after 0.0s",
    ]


def test_doctor_json_reads_back_in_the_shape(monkeypatch):
    state = doctor.HostState(**RECORDED_HOST)
    monkeypatch.setattr(doctor, "gather", lambda trial_image=None: state)
    out = CliRunner().invoke(app, ["doctor", "--json", "--trial-image", "localhost/none:1"], catch_exceptions=False)
    doc = json.loads(out.stdout)
    assert shape_errors(doc) == []
    assert (doc["command"], doc["subject"]) == ("doctor", "this host")
    assert doctor.HostState(**doc["facts"]["state"]) == state and doc["facts"]["state"] == asdict(state)
    assert out.exit_code == (0 if doc["ok"] else 1)
    assert {c["status"] for c in doc["checks"]} <= {"pass", "warn", "fail"}
    assert all(c["fix"] for c in doc["checks"] if c["status"] == "warn")
