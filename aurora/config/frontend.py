"""``[frontend]``: the React front end, built from sources with npm/yarn/pnpm or prebuilt.

Everything here reaches the front-end build stage of the Containerfile, whose history stays in
the build's cache and whose output is public: a value that looks like a secret is refused, and
registry credentials go through ``--secret npmrc=FILE`` (mounted for the install step only).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from aurora.config.fields import Model, RelPath, SafeText
from aurora.config.secrets import secret_in_env

# The lockfile each front-end package manager writes (detection and `aurora init` read it).
LOCKFILES = {"npm": "package-lock.json", "yarn": "yarn.lock", "pnpm": "pnpm-lock.yaml"}
SECRET_HINT = ("registry credentials go in a file outside the repository, mounted for the install"
               " only: `aurora build --secret npmrc=FILE` (FILE holds the .npmrc auth lines)")

_SCRIPT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]*$")
# An exclude pattern: a relative glob of plain names (it reaches the build as a JSON argument).
_GLOB = re.compile(r"^[A-Za-z0-9._@+*?\[\]!-][A-Za-z0-9._@+*?\[\]! /-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# One command-line flag of the package manager, in an alphabet no shell reads: --name or
# --name=value (a registry URL, a number, a list with commas).
_FLAG = re.compile(r"^--?[A-Za-z][A-Za-z0-9-]*(=[A-Za-z0-9._:/@+,=~^%-]*)?$")
_SECRET_FLAG = re.compile(r"(?i)auth|token|passw|secret|_password|credential")
# The build stage's own variables: replacing them breaks the stage, not the build.
_RESERVED = frozenset({"PATH", "HOME", "PWD", "HOSTNAME"})


class Frontend(Model):
    """The React front end: sources built with npm/yarn/pnpm, or a prebuilt folder."""

    source: RelPath | None = Field(None, description="Front-end source folder (with package.json); built in a Node stage.")
    prebuilt: RelPath | None = Field(None, description="A folder of already built static files; exclusive with `source`.")
    package_manager: Literal["npm", "yarn", "pnpm"] | None = Field(None, description="Default: detected from the lockfile.")
    script: str = Field("build", description="package.json script that builds the front end.")
    output: RelPath = Field("build", description="Build output folder, relative to `source`.")
    env: dict[str, SafeText] = Field(
        default_factory=dict,
        description="Build-time variables for the build script (`source` only; not seen by the install): Z_* ones baked into the bundle (Z_ENDPOINT, Z_ROUTE ...) and any the build needs (CI = \"false\", NODE_OPTIONS = \"--max-old-space-size=4096\", GENERATE_SOURCEMAP ...). Nothing secret: the bundle is public; registry credentials go through `--secret npmrc=FILE`.",
    )
    install_flags: list[str] = Field(
        default_factory=list,
        description="Flags added to the dependency install (npm ci/install, yarn install, pnpm install), e.g. [\"--legacy-peer-deps\"]. The project's .npmrc, .yarnrc(.yml), .pnpmfile.cjs, patches/ and workspace manifests are copied before the install and honoured as well.",
    )
    node: Literal[18, 20, 22] = Field(18, description="Node.js major version for the build stage (the offline base set has 18 and 20).")
    source_maps: bool = Field(False, description="Keep source maps (*.map) in the image; by default they are left out, so the sources are not public.")
    exclude: list[str] = Field(default_factory=list, description="More files left out of the web layer (besides *.map and OS litter: .DS_Store, Thumbs.db, desktop.ini, ._*): glob patterns; one without '/' matches a file name at any depth, one with '/' the path from the web root ('*' stays within a folder, '**' crosses folders).")

    @field_validator("script")
    @classmethod
    def _script(cls, v: str) -> str:
        if not _SCRIPT.match(v):
            raise ValueError(f"{v!r} is not a package.json script name (letters, digits, : . _ -)")
        return v

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if not _ENV_NAME.match(key):
                raise ValueError(f"{key!r} is not a variable name (letters, digits and '_', not starting with a digit)")
            if key in _RESERVED:
                raise ValueError(f"{key}: the build stage's own variable; leave it to the stage")
            if key.lower().startswith(("npm_config_", "yarn_", "pnpm_config_")):
                raise ValueError(
                    f"{key}: env reaches the build script, not the install (which runs before it, so that it"
                    " stays cached): put install settings in install_flags or the project's .npmrc/.yarnrc"
                )
            found = secret_in_env([f"{key}={value}"])
            if found:
                raise ValueError(f"{found[0]} looks like a secret: env is written into the build and the"
                                 f" bundle is public; {SECRET_HINT}")
        return v

    @field_validator("install_flags")
    @classmethod
    def _install_flags(cls, v: list[str]) -> list[str]:
        for flag in v:
            if _SECRET_FLAG.search(flag):
                raise ValueError(f"{flag.split('=')[0]!r} looks like a credential: flags are written into the"
                                 f" build; {SECRET_HINT}")
            if not _FLAG.match(flag):
                raise ValueError(
                    f"{flag!r} is not one flag: --name or --name=value, the value of letters, digits and"
                    " . _ : / @ + , = ~ ^ % - (no spaces, no shell characters)"
                )
        return v

    @field_validator("exclude")
    @classmethod
    def _exclude(cls, v: list[str]) -> list[str]:
        for pattern in v:
            if not _GLOB.match(pattern) or ".." in pattern.split("/"):
                raise ValueError(
                    f"{pattern!r} is not a file pattern: letters, digits, . _ - @ + and the wildcards * ? [ ],"
                    " relative to the web root (no leading '/', no '..')"
                )
            if fnmatch.fnmatchcase("index.html", pattern.removeprefix("**/")):
                raise ValueError(f"{pattern!r} would leave out index.html, the page every route is served from")
        return v

    @model_validator(mode="after")
    def _one_origin(self) -> Frontend:
        if (self.source is None) == (self.prebuilt is None):
            raise ValueError("set exactly one of `source` (built with npm/yarn/pnpm) or `prebuilt` (static files)")
        if self.prebuilt is not None:
            for name, value in (("env", self.env), ("install_flags", self.install_flags)):
                if value:
                    shown = ", ".join(sorted(value)) if isinstance(value, dict) else " ".join(value)
                    raise ValueError(
                        f"{name} ({shown}) can have no effect with `prebuilt`: the files are already"
                        f" built, nothing is installed or baked into them; remove `{name}`, or build from `source`"
                    )
        return self
