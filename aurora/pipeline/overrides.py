"""An app's own templates: ``.aurora/templates/Containerfile.j2`` next to aurora.toml extends
aurora's through its named blocks (docs/extending.md).

It is loaded through the same strict Environment as aurora's templates, with aurora's reachable
as ``aurora/NAME`` (``{% extends "aurora/Containerfile.j2" %}``). What it renders is checked
for what the image cannot do without: the entrypoint and the app's (non-root) user. Errors name
the template file and its line.
"""

from __future__ import annotations

import difflib
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import jinja2
from jinja2 import nodes

from aurora.errors import ConfigError
from aurora.resources import templates_dir

OVERRIDE = "Containerfile.j2"
PARENT = "aurora/Containerfile.j2"
# The blocks of templates/Containerfile.j2, in order: a stable interface (docs/extending.md).
BLOCKS = ("extra_stages", "runtime_base", "before_runtime", "user", "entrypoint", "after_runtime",
          "before_app", "after_app")
ENTRYPOINT = 'ENTRYPOINT ["/usr/bin/tini", "--", "/app/aurora/entrypoint"]'


def loader(overrides: Path) -> jinja2.BaseLoader:
    """The app's folder first, aurora's templates as ``aurora/...`` and, for the names aurora's
    own templates import, as they are."""
    ours = jinja2.FileSystemLoader(str(templates_dir()))
    return jinja2.ChoiceLoader([jinja2.PrefixLoader({"aurora": ours}), jinja2.FileSystemLoader(str(overrides)), ours])


def check_names(overrides: Path) -> None:
    """Only Containerfile.j2 may stand in for one of aurora's templates: a file of the app's under
    another of aurora's names would change what aurora's own templates import."""
    ours = templates_dir()
    for path in sorted(overrides.rglob("*")):
        rel = path.relative_to(overrides).as_posix()
        if path.is_file() and rel != OVERRIDE and (ours / rel).is_file():
            raise ConfigError(
                f"{path}: has the name of one of aurora's templates ({rel}); only {OVERRIDE} can be overridden",
                hint=f"rename it and {{% include %}} it from your {OVERRIDE}")


def check_extends(env: jinja2.Environment, overrides: Path) -> None:
    """The override must extend aurora's Containerfile (and define only its blocks)."""
    path = overrides / OVERRIDE
    source = path.read_text(encoding="utf-8")
    tree = guarded(lambda: env.parse(source, OVERRIDE, str(path)), overrides)
    parents = [n.template.value for n in tree.find_all(nodes.Extends) if isinstance(n.template, nodes.Const)]
    if parents != [PARENT]:
        raise ConfigError(f"{path}: must start with {{% extends \"{PARENT}\" %}} and fill in its blocks",
                          hint="docs/extending.md lists the blocks: " + ", ".join(BLOCKS))
    for block in tree.find_all(nodes.Block):
        if block.name not in BLOCKS:
            close = difflib.get_close_matches(block.name, BLOCKS, n=1)
            raise ConfigError(f"{path}:{block.lineno}: no block {block.name!r} in {PARENT}"
                              + (f" (did you mean {close[0]!r}?)" if close else ""),
                              hint="the blocks are: " + ", ".join(BLOCKS))


def guarded(render: Callable[[], str] | Callable[[], nodes.Template], overrides: Path):  # type: ignore[type-arg]
    """Run ``render``; a template error becomes a ConfigError naming the file and the line."""
    try:
        return render()
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.filename or exc.name}:{exc.lineno}"
        raise ConfigError(f"{where}: template syntax error: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise ConfigError(f"{_location(overrides)}: template error: {exc.message or exc}",
                          hint="the values a template can use are listed in docs/extending.md") from None


def _location(overrides: Path) -> str:
    """The innermost template frame of the exception being handled: file:line."""
    frames = traceback.extract_tb(sys.exc_info()[2])
    for frame in reversed(frames):
        if frame.filename.endswith(".j2"):
            return f"{frame.filename}:{frame.lineno}"
    return str(overrides / OVERRIDE)


def check_required(containerfile: str, uid: int, gid: int, overrides: Path) -> None:
    """The final stage still starts aurora's entrypoint and ends up as the app's user."""
    path = overrides / OVERRIDE
    m = re.search(r"^FROM \S+ AS image-base$(.*?)(?=^FROM )", containerfile, re.MULTILINE | re.DOTALL)
    body = m.group(1) if m else ""
    if ENTRYPOINT not in body.splitlines():
        raise ConfigError(f"{path}: the block 'entrypoint' must keep {ENTRYPOINT}",
                          hint="the image's processes are started and stopped by it; add to the block with"
                               " {{ super() }} instead of replacing it")
    users = re.findall(r"^USER (\S+)$", body, re.MULTILINE)
    if not users or users[-1] != f"{uid}:{gid}":
        raise ConfigError(f"{path}: the image must end up running as USER {uid}:{gid} (the block 'user'), not "
                          + (f"USER {users[-1]}" if users else "with no USER (as root)"),
                          hint=f"keep {{{{ super() }}}} in the block 'user'; a step that needs root says USER 0 and"
                               f" ends with USER {uid}:{gid}")
