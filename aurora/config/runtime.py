"""``[runtime]``: what a team adds to the image's runtime without forking aurora's templates.

Company CA certificates (into Java's trust store and the system bundle), extra Debian packages
in the runtime base, and extra files with their modes and owners. Java agents and class-data
sharing belong to the back end (``[backend] agents``, ``cds``). Each becomes its own layer,
placed by how often it changes (docs/extending.md).
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from aurora.config.fields import Model, RelPath

# Debian policy: lower-case letters, digits, + - . ; at least two characters, starting alphanumeric.
_DEB_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
# An absolute path in the image: plain names, no "..", nothing a shell would read.
_IMAGE_PATH = re.compile(r"^(/[A-Za-z0-9._@+-]+)+$")
_OWNER = re.compile(r"^([0-9]{1,10}):([0-9]{1,10})$")
# Where aurora's own files live: an extra file there would be overwritten or would shadow them.
RESERVED_PATHS = ("/app", "/opt/java", "/usr/bin/tini", "/etc/passwd", "/etc/group")


class ExtraFile(Model):
    """One file copied into the image."""

    src: RelPath = Field(description="The file, relative to the app folder.")
    dest: str = Field(description="Absolute path in the image, e.g. /etc/zero/extra.yml (not under /app or /opt/java).")
    mode: str = Field("0644", description="Octal file mode, e.g. 0644 or 0755; no setuid/setgid/sticky bits, not world-writable.")
    owner: str = Field("0:0", description="Numeric UID:GID, e.g. 0:0 (root, read-only to the app) or 10001:10001 (the app's user).")

    @field_validator("dest")
    @classmethod
    def _dest(cls, v: str) -> str:
        if not _IMAGE_PATH.match(v) or "/../" in v + "/" or "/./" in v + "/":
            raise ValueError(f"{v!r} must be an absolute path of plain names (letters, digits, . _ - @ +), no '..'")
        for reserved in RESERVED_PATHS:
            if v == reserved or v.startswith(reserved + "/"):
                raise ValueError(f"{v!r} is under {reserved}, which aurora writes: choose another place")
        return v

    @field_validator("mode")
    @classmethod
    def _mode(cls, v: str) -> str:
        if not re.fullmatch(r"0?[0-7]{3}", v):
            raise ValueError(f"{v!r} must be an octal mode such as 0644 (no setuid, setgid or sticky bit)")
        mode = int(v, 8)
        if mode & 0o002:
            raise ValueError(f"{v}: world-writable files are refused")
        return f"{mode:04o}"

    @field_validator("owner")
    @classmethod
    def _owner(cls, v: str) -> str:
        if not _OWNER.match(v):
            raise ValueError(f"{v!r} must be numeric UID:GID, e.g. 0:0 (the image has no user names but the app's)")
        return v


class Runtime(Model):
    """Additions to the runtime image: CA certificates, Debian packages, files."""

    ca_certs: list[RelPath] = Field(default_factory=list, description="PEM files of CA certificates (relative to the app folder) added to Java's trust store (cacerts) and to the system bundle /etc/ssl/certs/ca-certificates.crt.")
    packages: list[str] = Field(default_factory=list, description="Extra Debian packages in the runtime base, with their dependencies (offline set: unpacked like the base's own; official set: apt).")
    files: list[ExtraFile] = Field(default_factory=list, description="Extra files: [[runtime.files]] src, dest, mode, owner.")

    @field_validator("packages")
    @classmethod
    def _packages(cls, v: list[str]) -> list[str]:
        for name in v:
            if not _DEB_PACKAGE.match(name):
                raise ValueError(f"{name!r} is not a Debian package name (lower-case letters, digits, + - .)")
        twice = sorted({p for p in v if v.count(p) > 1})
        if twice:
            raise ValueError(f"{twice[0]!r} is listed twice")
        return v

    @field_validator("files")
    @classmethod
    def _files(cls, v: list[ExtraFile]) -> list[ExtraFile]:
        dests = [f.dest for f in v]
        twice = sorted({d for d in dests if dests.count(d) > 1})
        if twice:
            raise ValueError(f"two files go to {twice[0]}")
        return v
