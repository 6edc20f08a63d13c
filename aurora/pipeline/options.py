"""What a build command asked for beyond aurora.toml (its flags, checked): the ``Options`` the
pipeline's builders take."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aurora.engines import EngineName
from aurora.errors import UsageError
from aurora.host import registry
from aurora.pipeline.bases import BaseSetName
from aurora.pipeline.plan import SECRETS
from aurora.refs import parse_ref


@dataclass(frozen=True)
class Options:
    app_dir: Path
    tags: tuple[str, ...] = ()
    bases: BaseSetName | None = None
    no_cache: bool = False
    engine: EngineName = EngineName.BUILDAH
    secrets: tuple[tuple[str, Path], ...] = ()
    platforms: tuple[str, ...] = ()  # --platform (empty: aurora.toml's, or this machine's)
    jobs: int | None = None  # --jobs (None: from the machine, where the engine can)
    cache_from: str | None = None
    cache_to: str | None = None
    cache_tls_verify: bool = True  # and the push's --authfile, --cert-dir, --tls-verify:
    registry_opts: registry.RegistryOptions | None = None


def cache_registry(opts: Options) -> registry.RegistryOptions:
    """How the cache repository and the push's registry are reached (the same flags)."""
    return opts.registry_opts or registry.RegistryOptions(tls_verify=opts.cache_tls_verify)


def check_cache_repo(value: str | None, flag: str) -> str | None:
    """``--cache-from``/``--cache-to``: a registry repository (REGISTRY/NAME), no tag or digest —
    buildah names each cached layer by a tag of its own in it."""
    if value is None:
        return None
    try:
        ref = None if "://" in value else parse_ref(value)
    except ValueError:  # refs.ReferenceError
        ref = None
    if ref is None or not ref.registry or ref.tag or ref.digest:
        raise UsageError(f"{flag} {value!r}: give a registry repository, REGISTRY/NAME (no tag, no transport)",
                         hint=f"e.g. {flag} ghcr.io/acme/zero-demo-cache")
    return value


def parse_secrets(items: list[str]) -> tuple[tuple[str, Path], ...]:
    """`--secret ID=FILE` values: a known ID and a file that exists."""
    out = []
    for item in items:
        key, sep, path = item.partition("=")
        if not sep or key not in SECRETS:
            raise UsageError(f"--secret {item!r}: use ID=FILE with ID one of {', '.join(SECRETS)}")
        file = Path(path).expanduser()
        if not file.is_file():
            raise UsageError(f"--secret {key}: {file} is not a file")
        out.append((key, file.resolve()))
    return tuple(out)
