"""The rules `aurora verify` applies: the ``[verify]`` table of aurora.toml, or a policy file."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from aurora.config.fields import Model


class VerifyPolicy(Model):
    """Rules `aurora verify` applies (also loadable from a policy file with --policy)."""

    platforms: list[str] = Field(default_factory=list, description="Platforms the image must offer, e.g. linux/amd64; default: this machine's.")
    labels: list[str] = Field(
        default_factory=lambda: [f"org.opencontainers.image.{k}" for k in ("revision", "version", "source", "created")],
        description="Labels that must be present and non-empty.",
    )
    max_layers: int = Field(16, ge=1, description="Layer budget.")
    max_compressed_mb: float = Field(250.0, gt=0, description="Budget for the sum of the layers' (compressed) sizes, in MB.")
    ports: list[int] | None = Field(None, description="Exposed ports expected; default: from aurora.toml or the image's io.aurora.* labels.")
    entrypoint: list[str] = Field(
        default_factory=lambda: ["/usr/bin/tini", "--", "/app/aurora/entrypoint"],
        description="The entrypoint the image must have (aurora's).",
    )
    secret_patterns: list[str] = Field(default_factory=list, description="Extra regular expressions that mark an environment value as a secret.")
    require_sbom: bool = Field(False, description="A registry image must carry an attached CycloneDX SBOM of its digest.")
    require_signature: bool = Field(False, description="A registry image must carry a sigstore signature that verifies with --key.")

    @field_validator("platforms")
    @classmethod
    def _platforms(cls, v: list[str]) -> list[str]:
        for p in v:
            if not re.match(r"^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$", p):
                raise ValueError(f"{p!r} is not a platform like linux/amd64")
        return v

    @field_validator("secret_patterns")
    @classmethod
    def _patterns(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"{p!r} is not a regular expression: {exc}") from None
        return v

