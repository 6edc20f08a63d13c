"""Render: a Plan in, the Containerfile and its support files out. Pure: no I/O but templates.

Nothing from the config reaches the Containerfile unescaped: paths and names were constrained by
the config model, exec forms are JSON, and free text (labels, build commands, Z_* values) is
double-quoted with the escapes the Containerfile parser understands — ``dq`` below.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import replace
from functools import cache
from pathlib import Path

import jinja2

from aurora.errors import UsageError
from aurora.host.cachedir import cache_root
from aurora.pipeline import overrides as ovr
from aurora.pipeline.plan import SECRETS, Plan
from aurora.pipeline.platforms import JMODS_DIR, Target
from aurora.resources import templates_dir


class RenderError(UsageError):
    """A value that cannot go into a generated file (the config model should have refused it)."""


def dq(value: str) -> str:
    """Quote ``value`` as one word for LABEL/ARG/ENV: backslash, quote and ``$`` are escaped.

    Newlines cannot be expressed safely (the parser would start a new instruction) and were
    rejected by the config model; refuse them here too, in case a caller skipped it.
    """
    if any(c in value for c in "\n\r\0"):
        raise RenderError(f"{value!r}: newlines cannot go into a Containerfile")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def nq(value: str) -> str:
    """Quote ``value`` as one nginx string. The config model refused what cannot be quoted
    (quotes, backslashes, control characters); refuse it here too."""
    if any(c in value for c in '"\\') or any(ord(c) < 0x20 for c in value):
        raise RenderError(f"{value!r}: cannot go into the web server's config")
    return '"' + value + '"'


@cache
def environment(overrides: Path | None = None) -> jinja2.Environment:
    """The one Environment: aurora's templates, or, with an app's ``overrides`` folder, those
    first and aurora's as ``aurora/NAME`` too (same filters, same strictness)."""
    env = jinja2.Environment(
        loader=ovr.loader(overrides) if overrides else jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        # Compiled templates kept between runs (in aurora's cache folder; keyed by each
        # template's source): compiling them is ~0.1 s of every build.
        bytecode_cache=_bytecode_cache(),
    )
    env.filters["dq"] = dq
    env.filters["nq"] = nq
    # One word for a bash script (the entrypoint): single-quoted unless it is plainly safe.
    env.filters["sh"] = shlex.quote
    # A URL path (safe alphabet: letters, digits, . _ ~ - /) as a literal in an nginx regex.
    env.filters["regex"] = lambda v: v.replace(".", "\\.")
    # JSON exec/copy forms: json.dumps escapes quotes, backslashes and control characters.
    env.filters["tojson"] = lambda v: json.dumps(v, ensure_ascii=False)
    return env


def render(plan: Plan, *, cache_mounts: bool = False, target: Target | None = None) -> dict[str, str]:
    """Every generated file, keyed by its path inside the build context. ``cache_mounts``: the
    engine keeps ``RUN --mount=type=cache`` directories between builds (buildah, podman).
    ``target``: a foreign platform's image: every step that runs something runs on the build
    platform, jlink against the target's jmods, and the final stages on its runtime base."""
    be, fe = plan.backend, plan.frontend
    if target is not None:
        plan = for_target(plan, target)
    data = {
        "plan": plan,
        "be": be,
        "fe": fe,
        "web": plan.web,
        # What the web stage's script is told (one JSON argument: no shell, no quoting).
        "web_options": json.dumps({"assets": plan.web.assets, "exclude": list(plan.web.exclude),
                                   "script_hashes": plan.web.script_hashes, "brotli": plan.web.brotli},
                                  sort_keys=True),
        # Source builds gather the dist in the `backend` stage; dist builds copy the staged one.
        "dist_from": "--from=backend " if be.mode == "source" else "",
        "dist": "/dist" if be.mode == "source" else "backend",
        "npm_secret": _mount(plan, "npmrc"),
        "npm_cache": _frontend_cache(fe.package_manager) if cache_mounts and fe.mode == "source" else "",
        "maven_secret": _mount(plan, "maven-settings"),
        "build_cache": _build_cache(be.build_command) if cache_mounts and be.mode == "source" else "",
        # The files stage's arguments: SRC DEST MODE UID:GID for each extra file.
        "file_args": [a for f in plan.extras.files
                      for a in ("/aurora/files/" + f.staged.removeprefix("extras/files/"), f.dest, f"{f.mode:04o}", f.owner)],
        "build_from": target.build_from if target else "",
        "target": target,
        "jmods_dir": JMODS_DIR,
    }
    env = environment()
    files = {
        "Containerfile": containerfile(plan, data),
        "aurora/app/nginx.conf": env.get_template("app/nginx.conf.j2").render(data),
        "aurora/app/entrypoint": env.get_template("app/entrypoint.j2").render(data),
        "aurora/app/jvm.options": _lines(be.jvm_options),
        "aurora/app/app.args": _lines(be.args),
        "aurora/etc/passwd": env.get_template("etc/passwd.j2").render(data),
        "aurora/etc/group": env.get_template("etc/group.j2").render(data),
        "aurora/build/lib-modules.sh": _plain("build/lib-modules.sh"),
        "aurora/build/jlink.sh": _plain("build/jlink.sh"),
        "aurora/build/app-modules.sh": _plain("build/app-modules.sh"),
        "aurora/build/web-layer.js": _plain("build/web-layer.js"),
    }
    if be.mode == "source":
        files["aurora/build/collect-dist.sh"] = _plain("build/collect-dist.sh")
    extras = plan.extras
    for wanted, name in ((extras.ca_certs, "trust.sh"), (extras.packages and plan.bases.runtime_ready, "extra-packages.sh"),
                         (extras.cds, "cds-train.sh")):
        if wanted:
            files[f"aurora/build/{name}"] = _plain(f"build/{name}")
    return files


def containerfile(plan: Plan, data: dict) -> str:
    """The Containerfile: aurora's, or the app's override of it (checked: it extends aurora's,
    keeps the entrypoint and the user; an error names the template file and line)."""
    if plan.templates is None or not (plan.templates / ovr.OVERRIDE).is_file():
        return environment().get_template("Containerfile.j2").render(data)
    ovr.check_names(plan.templates)
    env = environment(plan.templates)
    ovr.check_extends(env, plan.templates)
    text = ovr.guarded(lambda: env.get_template(ovr.OVERRIDE).render(data), plan.templates)
    ovr.check_required(text, plan.uid, plan.gid, plan.templates)
    return text


def for_target(plan: Plan, target: Target) -> Plan:
    """The plan of a foreign platform's image: its final stages start from the target's
    runtime base (ready: nothing to install), its tags carry the architecture."""
    return replace(plan, bases=replace(plan.bases, runtime=target.runtime, runtime_ready=True),
                   extras=replace(plan.extras, cds=False))  # no training run for it: see make_plan's note


def _mount(plan: Plan, secret: str) -> str:
    return f"--mount=type=secret,id={secret},target={SECRETS[secret]} " if secret in plan.secrets else ""


# Where a back-end build tool keeps what it downloads, by the command's first word. A cache
# mount keeps it between builds and out of every layer, so a code change does not download
# the dependency tree again. One id per tool: every app on the machine shares the downloads.
BUILD_CACHES = {"mvn": ("aurora-maven", "/root/.m2/repository"), "./mvnw": ("aurora-maven", "/root/.m2/repository"),
                "gradle": ("aurora-gradle", "/root/.gradle/caches"), "./gradlew": ("aurora-gradle", "/root/.gradle/caches")}


# Where each front-end package manager (run as root) keeps the packages it downloads: a cache
# mount keeps them between builds, so a changed manifest downloads only what is new.
FRONTEND_CACHES = {"npm": ("aurora-npm", "/root/.npm"), "yarn": ("aurora-yarn", "/usr/local/share/.cache/yarn"),
                   "pnpm": ("aurora-pnpm", "/root/.local/share/pnpm/store")}


def _frontend_cache(package_manager: str | None) -> str:
    cache = FRONTEND_CACHES.get(package_manager or "")
    return f"--mount=type=cache,id={cache[0]},target={cache[1]} " if cache else ""


def _build_cache(command: str) -> str:
    words = command.split()
    cache = BUILD_CACHES.get(words[0]) if words else None
    return f"--mount=type=cache,id={cache[0]},target={cache[1]} " if cache else ""


def render_app_only(plan: Plan, java_image: str, base_image: str) -> str:
    """The Containerfile of an app.jar-only build: the app stage and the image's top on the
    ``java`` and ``image-base`` stage images of an earlier build (a dist back end only)."""
    if plan.backend.mode != "dist":
        raise RenderError("an app.jar-only build needs a dist back end")
    for ref in (java_image, base_image):
        if not re.fullmatch(r"[0-9a-f]{64}", ref):
            raise RenderError(f"{ref!r} is not an image ID")
    return environment().get_template("Containerfile.app.j2").render(
        plan=plan, be=plan.backend, java_image=java_image, base_image=base_image)


def render_metadata(plan: Plan, content_id: str) -> str:
    """The second, metadata-only build: the creation time on top of the content image."""
    if not re.fullmatch(r"[0-9a-f]{64}", content_id):
        raise RenderError(f"{content_id!r} is not an image ID")
    return environment().get_template("Containerfile.metadata.j2").render(plan=plan, content_id=content_id)


@cache
def _plain(name: str) -> str:
    """A shell script shipped as it is (not a template: its ``${}`` belong to the shell)."""
    return (templates_dir() / name).read_text(encoding="utf-8")


def _lines(items: tuple[str, ...]) -> str:
    for item in items:
        if "\n" in item or "\0" in item:
            raise RenderError(f"{item!r}: one argument per line, no newlines")
    return "".join(f"{item}\n" for item in items)


EXECUTABLE = frozenset({"aurora/app/entrypoint", "aurora/build/lib-modules.sh", "aurora/build/jlink.sh", "aurora/build/app-modules.sh",
                        "aurora/build/collect-dist.sh", "aurora/build/trust.sh", "aurora/build/extra-packages.sh",
                        "aurora/build/cds-train.sh"})


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja's compiled templates in aurora's cache folder; none where it cannot be written."""
    path = cache_root() / "templates"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(path))
