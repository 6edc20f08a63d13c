"""Error translation on recorded skopeo/buildah failures, and reference handling."""

import pytest

from aurora.errors import CommandError, UsageError
from aurora.host.registry import NotFound, RegistryOptions, transport_ref, translate, with_retries
from tests.conftest import DATA

REC = DATA / "recorded"


def err(name: str) -> CommandError:
    return CommandError(["skopeo", "inspect"], 1, (REC / name).read_text())


def test_connection_refused():
    e = translate(err("err-connection-refused.txt"), "docker://127.0.0.1:1/x:y", "reading")
    assert "cannot reach 127.0.0.1:1" in e.message and "401" not in e.message


def test_plain_http_registry():
    e = translate(err("err-http-to-https.txt"), "docker://127.0.0.1:15000/team/rp:1", "reading")
    assert "plain HTTP" in e.message and "--no-tls-verify" in e.hint


def test_manifest_unknown_is_not_found():
    e = translate(err("err-manifest-unknown.txt"), "docker://127.0.0.1:15000/team/rp:nope", "reading")
    assert isinstance(e, NotFound) and e.message.endswith("not found")


def test_port_numbers_are_not_status_codes():
    text = 'pinging container registry 127.0.0.1:34012: dial tcp 127.0.0.1:34012: connect: connection refused'
    e = translate(CommandError(["x"], 1, text), "docker://127.0.0.1:34012/a:b", "pushing")
    assert "cannot reach" in e.message


def test_unauthorized():
    text = "Error: writing blob: initiating layer upload to /v2/zero/demo/blobs/uploads/ in 127.0.0.1:5000: unauthorized: authentication required"
    e = translate(CommandError(["x"], 1, text), "docker://127.0.0.1:5000/zero/demo:1", "pushing")
    assert "rejected the credentials (401 unauthorized)" in e.message and "127.0.0.1:5000" in e.message


def test_x509():
    text = 'Get "https://127.0.0.1:5000/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority'
    e = translate(CommandError(["x"], 1, text), "docker://127.0.0.1:5000/a:1", "pushing")
    assert "not trusted" in e.message and "--cert-dir" in e.hint


def test_retries_are_bounded_and_only_for_connection_errors():
    calls = []

    def refuse():
        calls.append(1)
        raise err("err-connection-refused.txt")

    with pytest.raises(Exception) as info:
        with_retries(refuse, "docker://127.0.0.1:1/x:y", "reading", RegistryOptions(retries=3, retry_delay=0))
    assert len(calls) == 3 and "gave up after 3 attempts" in str(info.value)
    calls.clear()

    def missing():
        calls.append(1)
        raise err("err-manifest-unknown.txt")

    with pytest.raises(NotFound):
        with_retries(missing, "docker://r:1/x:y", "reading", RegistryOptions(retries=3, retry_delay=0))
    assert len(calls) == 1


def test_transport_refs():
    assert transport_ref("ghcr.io/a/b:1") == "docker://ghcr.io/a/b:1"
    assert transport_ref("oci:/tmp/layout") == "oci:/tmp/layout"
    with pytest.raises(UsageError):
        transport_ref("docker://Bad Ref")


def test_flags(tmp_path, monkeypatch):
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    assert RegistryOptions().flags() == []
    opts = RegistryOptions(authfile=tmp_path / "a.json", cert_dir=tmp_path, tls_verify=False)
    assert opts.flags() == [f"--authfile={tmp_path / 'a.json'}", f"--cert-dir={tmp_path}", "--tls-verify=false"]
    monkeypatch.setenv("REGISTRY_AUTH_FILE", "/x/auth.json")
    assert RegistryOptions().flags() == ["--authfile=/x/auth.json"]
