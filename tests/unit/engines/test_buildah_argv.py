from pathlib import Path

from aurora.engines.protocol import BuildRequest
from aurora.engines.buildah import bud_argv, push_argv
from aurora.host.registry import RegistryOptions


def test_bud_argv(monkeypatch):
    monkeypatch.delenv("BUILDAH_ISOLATION", raising=False)
    req = BuildRequest(context=Path("/ctx"), containerfile=Path("/ctx/Containerfile"), tags=("a:1", "b:2"),
                       timestamp=0, annotations=(("k", "v w"),), no_cache=True)
    assert bud_argv(req, Path("/tmp/iid")) == [
        "buildah", "bud", "--isolation=chroot", "--layers", "--timestamp=0", "--identity-label=false",
        "--format=oci", "--iidfile=/tmp/iid", "--force-rm", "-f", "/ctx/Containerfile", "--no-cache",
        "-t", "a:1", "-t", "b:2", "--annotation", "k=v w", "/ctx",
    ]
    monkeypatch.setenv("BUILDAH_ISOLATION", "oci")
    assert "--isolation=oci" in bud_argv(req, Path("/i"))


def test_push_argv(monkeypatch):
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    argv = push_argv("img:1", "docker://r:5000/a:1", RegistryOptions(tls_verify=False), Path("/d"))
    assert argv == ["buildah", "push", "--retry=0", "--digestfile=/d", "--tls-verify=false", "img:1", "docker://r:5000/a:1"]


def test_bud_argv_jobs_and_the_registry_cache(monkeypatch):
    monkeypatch.delenv("BUILDAH_ISOLATION", raising=False)
    base = dict(context=Path("/ctx"), containerfile=Path("/ctx/Containerfile"), tags=(), timestamp=0)
    plain = bud_argv(BuildRequest(**base), Path("/i"))
    assert not [a for a in plain if a.startswith(("--jobs", "--cache-", "--tls-verify"))]
    argv = bud_argv(BuildRequest(**base, jobs=3, cache_from="r:5000/c", cache_to="r:5000/c",
                                 cache_tls_verify=False), Path("/i"))
    assert argv[-5:] == ["--jobs=3", "--cache-from=r:5000/c", "--cache-to=r:5000/c", "--tls-verify=false", "/ctx"]
    # TLS stays verified unless asked otherwise; --jobs=1 is buildah's default, not written
    argv = bud_argv(BuildRequest(**base, jobs=1, cache_from="r.io/c"), Path("/i"))
    assert argv[-2:] == ["--cache-from=r.io/c", "/ctx"]
