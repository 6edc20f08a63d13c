import pytest

from aurora.refs import ReferenceError, in_registry, parse_ref, parse_repository, with_transport


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


@pytest.mark.parametrize(("text", "transport", "target"), [
    ("docker://ghcr.io/a/b:1", "docker", "ghcr.io/a/b:1"),
    ("ghcr.io/a/b:1", "docker", "ghcr.io/a/b:1"),
    ("oci:/tmp/layout:image", "oci", "/tmp/layout:image"),
    ("oci-archive:/tmp/a.tar", "oci-archive", "/tmp/a.tar"),
    ("containers-storage:localhost/app:1", "containers-storage", "localhost/app:1"),
    ("docker-archive:/tmp/d.tar", "docker-archive", "/tmp/d.tar"),
    ("dir:/tmp/d", "dir", "/tmp/d"),
])
def test_a_reference_keeps_its_transport(text, transport, target):
    ref = with_transport(text)
    assert (ref.transport, ref.target) == (transport, target)
    assert str(ref) == (text if text != target else f"docker://{text}")
    assert ref.in_registry == (transport == "docker")


def test_transport_ref_parses_what_names_an_image():
    assert with_transport("docker://ghcr.io/a/b:1").image == parse_ref("ghcr.io/a/b:1")
    assert with_transport("localhost/app:1", default="containers-storage").image.registry == "localhost"
    assert str(in_registry(parse_ref("127.0.0.1:5000/a:1"))) == "docker://127.0.0.1:5000/a:1"
    with pytest.raises(ReferenceError, match="oci path names no image reference"):
        _ = with_transport("oci:/tmp/l").image
