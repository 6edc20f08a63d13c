"""What looks like a literal secret in an environment: the one detector for the config model
(no literal secret in ``[kube] env``) and for ``aurora verify`` (none in the image's Env)."""

from __future__ import annotations

import re

_SECRET_KEY = re.compile(r"(?i)(passw(or)?d|secret|token|api[_-]?key|private[_-]?key|credential|access[_-]?key|auth)")
_SECRET_VALUES = [
    (re.compile(r"AKIA[0-9A-Z]{16}"), "an AWS access key id"),
    (re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}"), "a GitHub token"),
    (re.compile(r"glpat-[A-Za-z0-9_-]{20,}"), "a GitLab token"),
    (re.compile(r"npm_[A-Za-z0-9]{30,}"), "an npm token"),
    (re.compile(r"xox[abprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), "a JSON web token"),
    (re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"), "a URL with a password"),
]
# Values that only point at a secret are fine: a file path or a placeholder.
_REFERENCE = re.compile(r"^(/|\$\{|\$\(|<|file:|secret:|vault:)|^(true|false|none|null|)$", re.I)


def secret_in_env(env: list[str], extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Names of environment variables whose value looks like a secret (never the value)."""
    extra_re = [re.compile(p) for p in extra]
    found = []
    for item in env:
        key, _, value = item.partition("=")
        why = None
        if _SECRET_KEY.search(key) and not _REFERENCE.match(value.strip()):
            why = "its name says secret and it has a literal value"
        for pattern, what in _SECRET_VALUES:
            if pattern.search(value):
                why = f"its value looks like {what}"
        for pattern in extra_re:
            if pattern.search(value):
                why = f"its value matches {pattern.pattern!r}"
        if why:
            found.append(f"{key} ({why})")
    return found


def secrets_in_text(text: str, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """What secret-looking values a document (an SBOM, a provenance statement) holds, described,
    never quoted."""
    found = [what for pattern, what in _SECRET_VALUES if pattern.search(text)]
    found += [f"a match of {p!r}" for p in extra if re.search(p, text)]
    return found
