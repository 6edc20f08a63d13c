import pytest

from aurora.refs import ReferenceError, parse_ref, parse_repository


@pytest.mark.parametrize(
    "text, registry, repository, tag, digest",
    [
        ("nginx", "", "nginx", None, None),
        ("acme/app:1.0", "", "acme/app", "1.0", None),
        ("localhost/zero-demo:v1", "localhost", "zero-demo", "v1", None),
        ("127.0.0.1:5000/a/b:latest", "127.0.0.1:5000", "a/b", "latest", None),
        ("ghcr.io/acme/app@sha256:" + "a" * 64, "ghcr.io", "acme/app", None, "sha256:" + "a" * 64),
        ("docker.io/library/node:18-bookworm-slim", "docker.io", "library/node", "18-bookworm-slim", None),
    ],
)
def test_parse(text, registry, repository, tag, digest):
    ref = parse_ref(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)
    assert str(ref) == text


@pytest.mark.parametrize(
    "text",
    ["UPPER", "a b", "app:", "app:-x", "app@sha256:zz", "a//b", "app:" + "x" * 129, "-app", "a;b"],
)
def test_invalid(text):
    with pytest.raises(ReferenceError):
        parse_ref(text)


def test_repository_rejects_tag():
    with pytest.raises(ReferenceError):
        parse_repository("app:1")
