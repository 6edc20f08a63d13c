"""`aurora build --assemble` against the engine's build of the same demo
(`--no-assemble`): the same file tree (modes, owners, xattrs, content) and config; reproducible;
in local storage without --push, copied there beside a push (which reads aurora's layout); a push sends only what the registry
lacks, a push to another repository of it mounts instead of uploading; the provenance names the
assembler, and `aurora verify --rebuild` proves its digest."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import uuid
import zipfile

import pytest

from aurora.host.registry import RegistryOptions
from aurora.supply import attach, provenance
from tests.conftest import require_tool
from tests.integration.conftest import aurora, sh

pytestmark = pytest.mark.integration

CONFIG_KEYS = ("Entrypoint", "Cmd", "Env", "User", "ExposedPorts", "Labels", "WorkingDir", "StopSignal")


def file_tree(image: str) -> dict[str, tuple]:
    """Every path of the image's merged tree: mode, owner, content (or link), xattrs."""
    mount = sh("podman", "image", "mount", image).stdout.strip()
    out = {}
    try:
        for folder, dirs, files in os.walk(mount):
            for name in dirs + files:
                path = os.path.join(folder, name)
                st = os.lstat(path)
                content = ""
                if stat.S_ISREG(st.st_mode):
                    with open(path, "rb") as fh:
                        content = hashlib.file_digest(fh, "sha256").hexdigest()
                elif stat.S_ISLNK(st.st_mode):
                    content = os.readlink(path)
                xattrs = {k: os.getxattr(path, k, follow_symlinks=False)
                          for k in os.listxattr(path, follow_symlinks=False)}
                out[os.path.relpath(path, mount)] = (st.st_mode, st.st_uid, st.st_gid, content, xattrs)
    finally:
        sh("podman", "image", "unmount", image, check=False)
    return out


def image_config(image: str) -> dict:
    return json.loads(sh("skopeo", "inspect", "--config", f"containers-storage:{image}").stdout)


@pytest.fixture(scope="module")
def assembled(demo_app, offline_bases, tmp_path_factory):
    """The demo assembled, with a layer record of this module's own."""
    require_tool("skopeo")
    env = {"XDG_CACHE_HOME": str(tmp_path_factory.mktemp("cache"))}
    tag = f"localhost/aurora-test/assembled:{uuid.uuid4().hex[:8]}"
    out = aurora("build", "-C", str(demo_app), "--assemble", "--tag", tag, "--json", env=env)
    assert f"assembled {tag}:" in out.stderr and "the engine builds the whole image" not in out.stderr
    yield tag, json.loads(out.stdout), env
    sh("buildah", "rmi", tag, check=False)


def test_without_push_the_assembled_image_is_in_local_storage(assembled):
    tag, result, _ = assembled
    podman = json.loads(sh("podman", "image", "inspect", tag).stdout)[0]
    assert podman["Id"] == result["id"]  # podman run and aurora smoke find it
    assert len(podman["RootFS"]["Layers"]) == result["layers"]
    # The size is the image's layers as local storage counts them (uncompressed), not what a push
    # sends (64.5 of 97.5 MB for the demo); podman's Size adds the config and manifests it keeps.
    assert result["size_bytes"] <= podman["Size"] < result["size_bytes"] + 64 * 1024


def test_the_assembled_image_has_the_engine_images_tree_and_config(assembled, engine_image):
    tag, result, _ = assembled
    engine_tree, assembled_tree = file_tree(engine_image.image), file_tree(tag)
    assert len(assembled_tree) > 500  # the runtime, nginx, /opt/java, /app
    differ = sorted(p for p in set(engine_tree) | set(assembled_tree) if engine_tree.get(p) != assembled_tree.get(p))
    assert differ == []
    engine_config, assembled_config = image_config(engine_image.image), image_config(tag)
    assert {k: assembled_config["config"].get(k) for k in CONFIG_KEYS} == \
        {k: engine_config["config"].get(k) for k in CONFIG_KEYS}
    assert assembled_config["created"] == engine_config["created"]
    # lib/ goes into several layers (by how often its jars change): more layers, the same tree
    assert result["layers"] > len(engine_config["rootfs"]["diff_ids"])


def test_assembling_again_from_nothing_gives_the_same_image(assembled, demo_app, tmp_path):
    tag, result, _ = assembled
    again = f"localhost/aurora-test/assembled:{uuid.uuid4().hex[:8]}"
    try:
        out = aurora("build", "-C", str(demo_app), "--assemble", "--tag", again, "--json",
                     env={"XDG_CACHE_HOME": str(tmp_path / "cold")})
        assert ", 0 reused" in out.stderr  # nothing came from a record
        assert json.loads(out.stdout)["id"] == result["id"]
    finally:
        sh("buildah", "rmi", again, check=False)


def test_a_push_sends_only_what_the_registry_lacks(assembled, registry, demo_app):
    _, _, env = assembled
    ref = f"{registry.host}/zero/assembled:1"
    first = aurora("build", "-C", str(demo_app), "--assemble", "--tag", ref, "--push", "--no-tls-verify",
                   "--no-sbom", "--json", env=env)
    pushed = json.loads(first.stdout)
    served = json.loads(sh("skopeo", "inspect", "--tls-verify=false", f"docker://{ref}").stdout)["Digest"]
    assert pushed["digest"] == served
    uploads = registry.uploads()
    conf = demo_app / "backend/target/dist/conf/vertx.yml"
    original = conf.read_text()
    conf.write_text(original + "\n# changed\n")
    try:
        second = aurora("build", "-C", str(demo_app), "--assemble", "--tag", ref, "--push", "--no-tls-verify",
                        "--no-sbom", "--json", env=env)
    finally:
        conf.write_text(original)
    assert "1 layer(s) made (conf)" in second.stderr
    assert registry.uploads() - uploads == 2  # the conf layer and the config
    other = f"{registry.host}/zero/elsewhere:1"
    third = aurora("build", "-C", str(demo_app), "--assemble", "--tag", other, "--push", "--no-tls-verify",
                   "--no-sbom", "--json", env=env)
    assert "0 blob(s) uploaded" in third.stderr and "mounted" in third.stderr
    assert json.loads(third.stdout)["digest"] == pushed["digest"]
    sh("buildah", "rmi", ref, other, check=False)


def test_a_runner_with_empty_storage_downloads_no_layer_and_builds_only_what_changed(assembled, registry, demo_app,
                                                                                      tmp_path):
    """--cache-to records the layers' keys and the runtime base; a runner with an empty aurora
    cache and --cache-from runs no engine stage and no jdeps, copies no base into its layout,
    downloads only the record, uploads only the changed layer."""
    _, _, env = assembled
    cache = f"{registry.host}/zero/cache"
    ref = f"{registry.host}/zero/ci:1"
    flags = ("--push", "--no-tls-verify", "--no-sbom", "--cache-to", cache)
    aurora("build", "-C", str(demo_app), "--assemble", "--tag", ref, *flags, env=env)
    seen = len(registry.log.read_text(errors="replace").splitlines())
    conf = demo_app / "backend/target/dist/conf/vertx.yml"
    original = conf.read_text()
    conf.write_text(original + "\n# changed on CI\n")
    try:
        uploads = registry.uploads()
        out = aurora("build", "-C", str(demo_app), "--assemble", "--tag", f"{registry.host}/zero/ci:2", *flags,
                     "--cache-from", cache, "--json", env={"XDG_CACHE_HOME": str(tmp_path / "empty")})
    finally:
        conf.write_text(original)
    assert "building with buildah" not in out.stderr and "jdeps on" not in out.stderr
    assert "not copied into local storage" in out.stderr  # its unchanged layers were never downloaded
    index = json.loads((tmp_path / "empty/aurora/assemble/oci/index.json").read_text())
    assert not [m for m in index["manifests"] if "aurora-base-" in json.dumps(m)]  # the record's base, not a copy
    assert registry.uploads() - uploads == 3  # the conf layer, the config, the new record
    gets = [line for line in registry.log.read_text(errors="replace").splitlines()[seen:]
            if '"GET /v2/' in line and "/blobs/" in line]
    assert gets and all("/v2/zero/cache/blobs/" in line for line in gets)  # the record only, no layer
    served = json.loads(sh("skopeo", "inspect", "--tls-verify=false", f"docker://{registry.host}/zero/ci:2").stdout)
    assert served["Digest"] == json.loads(out.stdout)["digest"]


def test_a_push_attaches_the_sbom_read_from_aurora_s_own_layout(assembled, registry, demo_app):
    """The SBOM and the provenance are read from the layout; the local copy is made beside the
    push (for `aurora smoke` after `aurora build --push`), the same image."""
    _, _, env = assembled
    ref = f"{registry.host}/zero/attached:1"
    out = aurora("build", "-C", str(demo_app), "--assemble", "--tag", ref, "--push", "--no-tls-verify", "--json",
                 env=env)
    result = json.loads(out.stdout)
    assert len(result["sbom"]) == 1 and len(result["provenance"]) == 1
    local = json.loads(sh("podman", "image", "inspect", ref).stdout)[0]
    assert local["Id"] == result["id"]
    assert json.loads(sh("skopeo", "inspect", "--tls-verify=false", f"docker://{ref}").stdout)["Digest"] == result["digest"]
    referrers = json.loads(sh("skopeo", "inspect", "--tls-verify=false", "--raw",
                              f"docker://{registry.host}/zero/attached:{result['digest'].replace(':', '-')}").stdout)
    assert len(referrers["manifests"]) == 2


def test_the_provenance_names_the_assembler_and_a_rebuild_proves_the_digest(assembled, registry, demo_app):
    """`aurora verify --rebuild` of an assembled push: the provenance says which path made the
    image, and the rebuild (every layer made anew, by that path) gives the pushed config."""
    _, _, env = assembled
    ref = f"{registry.host}/zero/proved:1"
    out = aurora("build", "-C", str(demo_app), "--assemble", "--tag", ref, "--push", "--no-tls-verify", "--json", env=env)
    digest = json.loads(out.stdout)["digest"]
    found = attach.fetch(ref, digest, provenance.ENVELOPE_MEDIA_TYPE, RegistryOptions(tls_verify=False))
    params = provenance.open_envelope(found[0][1]).statement["predicate"]["buildDefinition"]
    assert params["externalParameters"]["builder"] == "assembler"
    check = aurora("verify", ref, "--no-tls-verify", "-C", str(demo_app), "--rebuild", check=False, timeout=1800)
    assert "(assembled, as recorded)" in check.stderr
    lines = check.stdout.splitlines()
    assert any(line.startswith("PASS  rebuild inputs") for line in lines), check.stdout
    assert any(line.startswith("PASS  rebuild ") for line in lines), check.stdout + check.stderr[-3000:]
    assert check.returncode == 0, check.stdout
    sh("buildah", "rmi", ref, check=False)



def test_a_jdk_module_only_app_jar_uses_gets_into_the_runtime(demo_app, offline_bases, tmp_path):
    """As on the engine's path (app-modules.sh): app.jar's own JDK modules are checked against
    lib/'s, a missing one is added to the runtime, and the build says to list it."""
    require_tool("javac")
    app = tmp_path / "zero-demo"
    shutil.copytree(demo_app, app, symlinks=True)
    src = tmp_path / "src" / "Probe.java"
    src.parent.mkdir()
    src.write_text("public class Probe { public static Object server() throws Exception {"
                   " return com.sun.net.httpserver.HttpServer.create(); } }\n")
    sh("javac", "--release", "17", "-d", str(tmp_path / "classes"), str(src))
    jar = app / "backend/target/dist/app.jar"
    with zipfile.ZipFile(jar, "a") as z:
        z.write(tmp_path / "classes" / "Probe.class", "Probe.class")
    tag = f"localhost/aurora-test/assembled-modules:{uuid.uuid4().hex[:8]}"
    try:
        out = aurora("build", "-C", str(app), "--tag", tag, "--json", env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
        assert "app.jar needs jdk.httpserver, which lib/ does not: the runtime gets it" in out.stderr
        assert "assembled " in out.stderr
        modules = sh("podman", "run", "--rm", "--entrypoint", "/opt/java/bin/java", tag, "--list-modules").stdout
        assert "jdk.httpserver@" in modules
    finally:
        sh("buildah", "rmi", tag, check=False)


def test_a_host_build_runs_maven_only_when_the_back_end_changed(demo_app, offline_bases, tmp_path):
    """`[backend] host_build`: `aurora build` runs the demo's build.sh (real Maven) first, skips it
    while nothing under backend/ changed (a no-op then runs no Maven), and runs it again after a
    code change, whose image differs from the first only in app.jar's layer."""
    app = tmp_path / "zero-demo"
    shutil.copytree(demo_app, app, symlinks=True)
    toml = app / "aurora.toml"
    toml.write_text(toml.read_text().replace('dist = "backend/target/dist"\n',
                                             'dist = "backend/target/dist"\nhost_build = "sh backend/build.sh -o"\n', 1))
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    tag = f"localhost/aurora-test/host-build:{uuid.uuid4().hex[:8]}"
    made: list[str] = []

    def build() -> tuple[str, dict]:
        out = aurora("build", "-C", str(app), "--tag", tag, "--json", env=env)
        made.append(json.loads(out.stdout)["id"])
        return out.stderr, json.loads(out.stdout)

    try:
        said, first = build()
        assert "build.sh: built" in said and "[back end (host)] done" in said
        said, again = build()
        assert "`sh backend/build.sh -o` skipped: its inputs and the dist are as its last run left them" in said
        assert "build.sh: built" not in said and again["id"] == first["id"]
        main = app / "backend/src/main/java/io/zero/demo/Main.java"
        main.write_text(main.read_text().replace('"zero-demo stopping"', '"zero-demo stopping (host build test)"', 1))
        said, changed = build()
        assert "build.sh: built" in said and "1 layer(s) made (app.jar)" in said
        layers = [image_config(image)["rootfs"]["diff_ids"] for image in (first["id"], changed["id"])]
        assert len(layers[0]) == len(layers[1]) and sum(a != b for a, b in zip(*layers)) == 1
    finally:
        sh("buildah", "rmi", tag, *set(made), check=False)
