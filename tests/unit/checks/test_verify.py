"""verify.evaluate on a recorded real manifest and config (the demo, pushed to a registry)."""

from __future__ import annotations

import json

import pytest

from aurora.checks.verify import evaluate
from aurora.config import VerifyPolicy
from aurora.config.secrets import secret_in_env
from tests.conftest import DATA

REC = DATA / "recorded"
RAW = (REC / "demo-manifest.json").read_bytes()
CONFIG = json.loads((REC / "demo-config.json").read_text())


def statuses(report):
    return {c.name: c.status for c in report.checks}


def with_labels(config, **labels):
    c = json.loads(json.dumps(config))
    c["config"]["Labels"].update(labels)
    return c


FULL = with_labels(CONFIG, **{
    "org.opencontainers.image.revision": "abc",
    "org.opencontainers.image.source": "https://example.com/x.git",
})


def test_recorded_demo_passes_with_full_labels():
    report = evaluate("docker://r/zero/demo:1", RAW, FULL, VerifyPolicy(platforms=["linux/amd64"]),
                      source_date_epoch=1700000000)
    assert report.ok, [c for c in report.checks if c.status == "fail"]
    assert report.facts["digest"].startswith("sha256:")
    s = statuses(report)
    assert s["exposed ports"] == "pass" and s["base annotations"] == "pass" and s["size"] == "pass"


def test_missing_labels_are_named():
    report = evaluate("r", RAW, CONFIG, VerifyPolicy(platforms=["linux/amd64"]))
    label = next(c for c in report.checks if c.name == "labels")
    assert label.status == "fail"
    assert "org.opencontainers.image.revision" in label.detail and "org.opencontainers.image.source" in label.detail
    assert not report.ok


@pytest.mark.parametrize("user, status", [("", "fail"), ("0", "fail"), ("0:0", "fail"), ("app", "fail"), ("10001", "pass")])
def test_user_rule(user, status):
    c = json.loads(json.dumps(FULL))
    c["config"]["User"] = user
    assert statuses(evaluate("r", RAW, c, VerifyPolicy(platforms=["linux/amd64"])))["non-root user"] == status


def test_budgets_and_created():
    policy = VerifyPolicy(platforms=["linux/amd64"], max_layers=3, max_compressed_mb=1)
    s = statuses(evaluate("r", RAW, FULL, policy, source_date_epoch=1))
    assert s["layers"] == "fail" and s["size"] == "fail" and s["created"] == "fail"


def test_ports_from_the_config_win():
    s = statuses(evaluate("r", RAW, FULL, VerifyPolicy(platforms=["linux/amd64"]), expected_ports=[9090, 6083]))
    assert s["exposed ports"] == "fail"


def test_platform_mismatch():
    assert statuses(evaluate("r", RAW, FULL, VerifyPolicy(platforms=["linux/arm64"])))["platforms"] == "fail"


def test_garbage_manifest_is_a_failed_rule_not_a_crash():
    report = evaluate("r", b"not json", FULL, VerifyPolicy())
    assert [(c.name, c.status) for c in report.checks] == [("manifest", "fail")]


@pytest.mark.parametrize("item, flagged", [
    ("DB_PASSWORD=hunter2", True),
    ("Z_DBS_PASSWORD=/run/secrets/db", False),
    ("API_TOKEN=${TOKEN}", False),
    ("NPM_CONFIG=npm_abcdefghijklmnopqrstuvwxyz0123456789", True),
    ("JDBC=mysql://app:pw@db:3306/x", True),
    ("AWS=AKIAABCDEFGHIJKLMNOP", True),
    ("KEYSTORE_FILE=/app/conf/ks.p12", False),
    ("PATH=/usr/bin", False),
    ("JAVA_HOME=/opt/java", False),
])
def test_secret_detection(item, flagged):
    found = secret_in_env([item])
    assert bool(found) == flagged
    assert all(item.split("=", 1)[1] not in f for f in found)  # never echo the value


def kaniko_like(config, created_label):
    """kaniko --reproducible: the zero time in the config, the creation time in the label."""
    c = with_labels(config, **({"org.opencontainers.image.created": created_label} if created_label else {}))
    c["created"] = "0001-01-01T00:00:00Z"
    return c


@pytest.mark.parametrize("label, sde, status", [
    ("2023-11-14T22:13:20Z", 1700000000, "pass"),
    ("2023-11-14T22:13:20Z", None, "pass"),
    ("2020-01-01T00:00:00Z", 1700000000, "fail"),
    (None, 1700000000, "fail"),
])
def test_a_stripped_creation_time_is_read_from_the_label(label, sde, status):
    c = kaniko_like(FULL, label)
    if label is None:
        c["config"]["Labels"].pop("org.opencontainers.image.created", None)
    check = next(x for x in evaluate("r", RAW, c, VerifyPolicy(platforms=["linux/amd64"]), source_date_epoch=sde).checks
                 if x.name == "created")
    assert check.status == status, check.detail
