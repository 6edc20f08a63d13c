"""Template overrides (one test per block), the [runtime] extras, agents and CDS: rendered, no engine."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from aurora import config
from aurora.errors import ConfigError
from aurora.pipeline.overrides import BLOCKS
from aurora.pipeline.plan import make_plan
from aurora.pipeline.render import render
from tests.unit.conftest import FIXED_GIT, MINIMAL, write_app, write_jar

OFFLINE = 'bases = "offline"\n'


def plan_of(app: Path):
    return make_plan(config.load(app), app, FIXED_GIT, environ={})


def containerfile(app: Path) -> str:
    return render(plan_of(app))["Containerfile"]


def override(app: Path, text: str, name: str = "Containerfile.j2") -> Path:
    path = app / ".aurora" / "templates" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def stage(text: str, name: str) -> str:
    m = re.search(rf"^FROM \S+ AS {name}$(.*?)(?=^FROM |\Z)", text, re.MULTILINE | re.DOTALL)
    assert m, f"no stage {name}"
    return m.group(1)


def instructions(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]


def test_without_an_override_the_blocks_render_what_they_hold(tmp_path):
    app = write_app(tmp_path / "a", OFFLINE + MINIMAL)
    plain = containerfile(app)
    override(app, '{% extends "aurora/Containerfile.j2" %}\n')
    assert containerfile(app) == plain


# Each block: where its text must land (the instruction before it, the one after it).
PLACES = {
    "extra_stages": (None, "FROM localhost/aurora/node:18 AS frontend"),
    "before_runtime": ("FROM localhost/aurora/runtime:12 AS image-base", "ENV JAVA_HOME=/opt/java \\"),
    "user": ("WORKDIR /app", "EXPOSE 8080 6083"),
    "entrypoint": ("STOPSIGNAL SIGTERM", "COPY --from=java /opt/java /opt/java"),
    "after_runtime": ("COPY --from=java /opt/java /opt/java", "COPY aurora/etc/passwd aurora/etc/group /etc/"),
    "before_app": ("COPY aurora/app/ /app/aurora/", "COPY backend/lib/ /app/lib/"),
    "after_app": ("COPY --from=web /out/ /app/", "FROM image-base AS image"),
}


@pytest.mark.parametrize("block", [b for b in BLOCKS if b != "runtime_base"])
def test_each_block_lands_in_its_place(tmp_path, block):
    app = write_app(tmp_path / "a", OFFLINE + MINIMAL)
    marker = f"LABEL com.example.block={block}"
    # user and entrypoint keep aurora's content (super) and add to it, before it
    body = f"{marker}\n{{{{ super() }}}}" if block in ("user", "entrypoint") else marker
    override(app, f'{{% extends "aurora/Containerfile.j2" %}}\n{{% block {block} %}}\n{body}\n{{% endblock %}}\n')
    lines = instructions(containerfile(app))
    at = lines.index(marker)
    before, after = PLACES[block]
    if block in ("user", "entrypoint"):  # the marker, then aurora's own lines of the block
        assert lines[at + 1] == ("USER 10001:10001" if block == "user" else
                                 'ENTRYPOINT ["/usr/bin/tini", "--", "/app/aurora/entrypoint"]')
        assert lines[at - 1] == before
    else:
        assert (lines[at - 1] if before else None) == (before if before else None) or at == 0
        assert lines[at + 1] == after


def test_block_runtime_base_replaces_the_official_runtime_stage(tmp_path):
    app = write_app(tmp_path / "a", MINIMAL)  # official bases: a runtime stage with apt
    assert "apt-get install -y --no-install-recommends nginx libnginx-mod-http-brotli-static tini" in stage(containerfile(app), "runtime")
    override(app, '{% extends "aurora/Containerfile.j2" %}\n{% block runtime_base %}\n'
                  '{{ super() }}\nRUN ["apt-get", "purge", "-y", "perl-base"]\n{% endblock %}\n')
    runtime = instructions(stage(containerfile(app), "runtime"))
    assert runtime[0].startswith("RUN apt-get update")
    assert runtime[-1] == 'RUN ["apt-get", "purge", "-y", "perl-base"]'


def test_an_extra_stage_can_feed_the_image(tmp_path):
    app = write_app(tmp_path / "a", OFFLINE + MINIMAL)
    override(app, '{% extends "aurora/Containerfile.j2" %}\n'
                  '{% block extra_stages %}\nFROM {{ plan.bases.jdk }} AS tools\nRUN ["touch", "/marker"]\n{% endblock %}\n'
                  '{% block after_app %}\nCOPY --from=tools /marker /opt/marker\n{% endblock %}\n')
    text = containerfile(app)
    assert "FROM localhost/aurora/jdk:17 AS tools" in text
    assert "COPY --from=tools /marker /opt/marker" in stage(text, "image-base")


def test_values_are_escaped_as_in_aurora_s_templates(tmp_path):
    app = write_app(tmp_path / "a", OFFLINE + MINIMAL)
    override(app, '{% extends "aurora/Containerfile.j2" %}\n{% block after_app %}\n'
                  'LABEL x={{ "a\\"b $HOME" | dq }}\n{% endblock %}\n')
    assert 'LABEL x="a\\"b \\$HOME"' in containerfile(app)


@pytest.mark.parametrize("block, says", [("user", "must end up running as USER 10001:10001"),
                                         ("entrypoint", "the block 'entrypoint' must keep")])
def test_an_override_that_drops_a_required_block_is_refused(tmp_path, block, says):
    app = write_app(tmp_path / "a", OFFLINE + MINIMAL)
    path = override(app, f'{{% extends "aurora/Containerfile.j2" %}}\n{{% block {block} %}}{{% endblock %}}\n')
    with pytest.raises(ConfigError) as err:
        render(plan_of(app))
    assert str(err.value).startswith(f"{path}: ") and says in str(err.value)


def test_root_at_the_end_is_refused_but_root_in_between_is_not(tmp_path):
    app = write_app(tmp_path / "a", OFFLINE + MINIMAL)
    override(app, '{% extends "aurora/Containerfile.j2" %}\n{% block after_app %}\nUSER 0\n{% endblock %}\n')
    with pytest.raises(ConfigError, match="not USER 0"):
        render(plan_of(app))
    override(app, '{% extends "aurora/Containerfile.j2" %}\n{% block after_app %}\nUSER 0\n'
                  'RUN ["/bin/bash", "-c", "true"]\nUSER {{ plan.uid }}:{{ plan.gid }}\n{% endblock %}\n')
    assert 'RUN ["/bin/bash", "-c", "true"]' in containerfile(app)


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    app = write_app(tmp_path / "a", OFFLINE + MINIMAL)
    path = override(app, '{% extends "aurora/Containerfile.j2" %}\n{% block after_app %}\n'
                         'RUN {{ plan.name | }}\n{% endblock %}\n')
    with pytest.raises(ConfigError) as err:
        render(plan_of(app))
    assert str(err.value).startswith(f"{path}:3: template syntax error")


def test_an_undefined_value_names_the_file_and_line(tmp_path):
    app = write_app(tmp_path / "a", OFFLINE + MINIMAL)
    path = override(app, '{% extends "aurora/Containerfile.j2" %}\n\n{% block after_app %}\n'
                         'LABEL a=b\nLABEL x={{ plan.nothing_here | dq }}\n{% endblock %}\n')
    with pytest.raises(ConfigError) as err:
        render(plan_of(app))
    assert str(err.value).startswith(f"{path}:5: template error: ") and "nothing_here" in str(err.value)


def test_an_override_must_extend_aurora_s_and_name_real_blocks(tmp_path):
    app = write_app(tmp_path / "a", OFFLINE + MINIMAL)
    override(app, "FROM scratch\n")
    with pytest.raises(ConfigError, match='must start with {% extends "aurora/Containerfile.j2" %}'):
        render(plan_of(app))
    path = override(app, '{% extends "aurora/Containerfile.j2" %}\n\n{% block after_ap %}x{% endblock %}\n')
    with pytest.raises(ConfigError) as err:
        render(plan_of(app))
    assert str(err.value).startswith(f"{path}:3: no block 'after_ap'") and "did you mean 'after_app'" in str(err.value)


def test_an_app_file_cannot_take_the_name_of_another_aurora_template(tmp_path):
    app = write_app(tmp_path / "a", OFFLINE + MINIMAL)
    override(app, '{% extends "aurora/Containerfile.j2" %}\n')
    override(app, "{# nothing #}\n", name="Containerfile.parts.j2")
    with pytest.raises(ConfigError, match="only Containerfile.j2 can be overridden"):
        render(plan_of(app))


def test_partials_of_the_app_can_be_included(tmp_path):
    app = write_app(tmp_path / "a", OFFLINE + MINIMAL)
    override(app, "LABEL from.partial=yes\n", name="partials/labels.j2")
    override(app, '{% extends "aurora/Containerfile.j2" %}\n{% block after_app %}\n'
                  '{% include "partials/labels.j2" %}\n{% endblock %}\n')
    assert "LABEL from.partial=yes" in stage(containerfile(app), "image-base")


# -- extras ---------------------------------------------------------------------------------

def write_ca(path: Path, cn: str = "Example Company CA") -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def write_agent(path: Path, premain: str | None = "com.example.Agent") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest = "Manifest-Version: 1.0\r\n" + (f"Premain-Class: {premain}\r\n" if premain else "") + "\r\n"
    return write_jar(path, manifest=manifest)


def extras_app(tmp_path: Path, runtime: str, backend: str = "", bases: str = OFFLINE) -> Path:
    toml = bases + MINIMAL.replace('dist = "backend/target/dist"\n', 'dist = "backend/target/dist"\n' + backend)
    app = write_app(tmp_path / "a", toml + "\n[runtime]\n" + runtime)
    write_ca(app / "certs" / "company.pem")
    write_agent(app / "agents" / "otel.jar")
    (app / "etc").mkdir()
    (app / "etc" / "extra.conf").write_text("x=1\n")
    return app


FULL = ('ca_certs = ["certs/company.pem"]\npackages = ["jq"]\n'
        'files = [{ src = "etc/extra.conf", dest = "/etc/zero/extra.conf", mode = "0640", owner = "0:10001" }]\n')


def test_extras_are_layers_placed_by_how_often_they_change(tmp_path):
    app = extras_app(tmp_path, FULL, backend='agents = ["agents/otel.jar"]\n')
    files = render(plan_of(app))
    base = instructions(stage(files["Containerfile"], "image-base"))
    copies = [line for line in base if line.startswith("COPY")]
    assert copies == [
        "COPY --from=packages /out/ /", "COPY --from=java /opt/java /opt/java", "COPY --from=trust /out/ /",
        "COPY aurora/etc/passwd aurora/etc/group /etc/", "COPY --chown=10001:10001 writable/ /app/",
        "COPY aurora/app/ /app/aurora/", "COPY backend/lib/ /app/lib/", "COPY extras/agents/ /app/agents/",
        "COPY --from=files /out/ /", "COPY backend/conf/ /app/conf/", "COPY --from=web /out/ /app/"]
    text = files["Containerfile"]
    assert '"/aurora/runtime-status", "/out", "jq"]' in stage(text, "packages")
    assert '"/aurora/files/0/extra.conf", "/etc/zero/extra.conf", "0640", "0:10001"]' in stage(text, "files")
    assert files["aurora/app/jvm.options"].startswith("-javaagent:/app/agents/otel.jar\n")
    assert "java.instrument" in stage(text, "java")
    for script in ("trust.sh", "extra-packages.sh"):
        assert f"aurora/build/{script}" in files
    assert "aurora/build/cds-train.sh" not in files


def test_official_bases_install_packages_with_apt_in_a_layer_of_their_own(tmp_path):
    app = extras_app(tmp_path, 'packages = ["jq", "curl"]\n', bases="")
    text = containerfile(app)
    runtime = instructions(stage(text, "runtime"))
    assert runtime[-1] == "RUN apt-get update \\" and "install -y --no-install-recommends jq curl" in stage(text, "runtime")
    assert "AS packages" not in text


def test_packages_need_a_base_aurora_knows(tmp_path):
    app = extras_app(tmp_path, 'packages = ["jq"]\n', bases="")
    (app / "aurora.toml").write_text((app / "aurora.toml").read_text() + '\n[bases]\nruntime = "example.com/rt:1"\n')
    with pytest.raises(ConfigError, match="runtime -> packages: the runtime base example.com/rt:1 is used as it is"):
        plan_of(app)


def test_a_ca_file_that_is_not_pem_is_refused(tmp_path):
    app = extras_app(tmp_path, 'ca_certs = ["certs/company.der"]\n')
    (app / "certs" / "company.der").write_bytes(b"\x30\x82\x01\x0a binary")
    with pytest.raises(ConfigError, match=r"runtime -> ca_certs: .*company.der: not a PEM file"):
        plan_of(app)
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (app / "certs" / "company.der").write_bytes(key)
    with pytest.raises(ConfigError, match="holds PRIVATE KEY, not only certificates"):
        plan_of(app)


def test_an_agent_without_premain_class_is_refused(tmp_path):
    app = extras_app(tmp_path, "", backend='agents = ["agents/plain.jar"]\n')
    write_agent(app / "agents" / "plain.jar", premain=None)
    with pytest.raises(ConfigError, match=r"backend -> agents: .*plain.jar is not a Java agent \(no Premain-Class"):
        plan_of(app)


@pytest.mark.parametrize("entry, says", [
    ('{ src = "etc/extra.conf", dest = "/app/conf/x" }', "is under /app"),
    ('{ src = "etc/extra.conf", dest = "etc/x" }', "must be an absolute path"),
    ('{ src = "etc/extra.conf", dest = "/etc/x", mode = "0666" }', "world-writable"),
    ('{ src = "etc/extra.conf", dest = "/etc/x", mode = "4755" }', "octal mode"),
    ('{ src = "etc/extra.conf", dest = "/etc/x", owner = "root" }', "numeric UID:GID"),
])
def test_bad_extra_files_are_refused_with_their_line(tmp_path, entry, says):
    app = extras_app(tmp_path, f"files = [{entry}]\n")
    with pytest.raises(ConfigError) as err:
        plan_of(app)
    assert says in str(err.value) and "aurora.toml:" in str(err.value) and "runtime -> files -> 0" in str(err.value)


def test_a_bad_package_name_is_refused(tmp_path):
    app = extras_app(tmp_path, 'packages = ["jq; rm -rf /"]\n')
    with pytest.raises(ConfigError, match="is not a Debian package name"):
        plan_of(app)
