"""Reading ``aurora.toml`` (and policy files): every problem becomes one ConfigError that names
the file, the line and the field, and suggests the key the user probably meant."""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ValidationError

from aurora.config.app import CONFIG_NAME, Config
from aurora.config.appkind import with_defaults
from aurora.config.fields import Model
from aurora.config.kube import Kube
from aurora.config.policy import VerifyPolicy
from aurora.errors import ConfigError, UsageError


def load(app_dir: Path, path: Path | None = None) -> Config:
    """Read and validate ``aurora.toml``; every problem becomes one ConfigError."""
    path = path or app_dir / CONFIG_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file", hint=f"run `aurora init {app_dir}` to write a starting {CONFIG_NAME}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse(text, path, app_dir)


def parse(text: str, path: Path, app_dir: Path | None = None) -> Config:
    """Validate ``text``; given ``app_dir``, the defaults follow what the app is (appkind.py)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if app_dir is not None:
        data = with_defaults(data, app_dir, path)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, text, path) from None


_NAMED_FIELD = re.compile(r"^([a-z_]+(?: -> [a-z_]+)*): (.*)$", re.DOTALL)


def _config_error(exc: ValidationError, text: str, path: Path) -> ConfigError:
    lines = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"].removeprefix("Value error, ")
        named = _NAMED_FIELD.match(msg)
        if named and not loc:  # a check across tables names the field it is about
            loc, msg = tuple(named.group(1).split(" -> ")), named.group(2)
        field = " -> ".join(str(p) for p in loc) or "(top level)"
        line = locate(text, loc)
        where = f"{path}:{line}" if line else str(path)
        if err["type"] == "extra_forbidden":
            msg = "unknown key" + _did_you_mean(loc)
        elif err["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"{where}: {field}: {msg}")
    first, *rest = lines
    message = first + "".join(f"\n  {more}" for more in rest)
    return ConfigError(message, hint=f"see `aurora schema` for every key of {CONFIG_NAME}")


def with_kube_flags(cfg: Config, *, namespace: str | None = None, replicas: int | None = None) -> Config:
    """``cfg`` with `--namespace` / `--replicas` in place of [kube]'s values, checked by the same
    model as aurora.toml's: a flag's bad value is a usage error that names the flag."""
    given = {k: v for k, v in (("namespace", namespace), ("replicas", replicas)) if v is not None}
    if not given:
        return cfg
    try:
        kube = Kube.model_validate({**cfg.kube.model_dump(), **given})
    except ValidationError as exc:
        err = exc.errors()[0]
        flag = f"--{err['loc'][0]}" if err["loc"] and err["loc"][0] in given else "[kube]"
        raise UsageError(f"{flag}: {err['msg'].removeprefix('Value error, ')}") from None
    return cfg.model_copy(update={"kube": kube})


def _did_you_mean(loc: tuple) -> str:
    model: type[BaseModel] | None = Config
    for part in loc[:-1]:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return ""
        ann = model.model_fields[part].annotation
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    if model is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(model.model_fields)})"


def locate(text: str, loc: tuple) -> int | None:
    """Best-effort line number of a config location in TOML ``text`` (tomllib keeps none)."""
    keys = [str(p) for p in loc if isinstance(p, str)]
    if not keys:
        return None
    table: list[str] = []
    best: int | None = None
    best_depth = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("["):
            header = line.strip("[]").strip()
            table = [k.strip().strip('"') for k in header.split(".")]
            depth = _common(table, keys)
            if depth > best_depth and depth == len(table):
                best, best_depth = number, depth
            continue
        m = re.match(r'^("?[A-Za-z0-9_.-]+"?(?:\s*\.\s*"?[A-Za-z0-9_.-]+"?)*)\s*=', line)
        if m:
            path = table + [k.strip().strip('"') for k in m.group(1).split(".")]
            depth = _common(path, keys)
            if depth > best_depth and depth == len(path):
                best, best_depth = number, depth
            elif depth == len(table) and depth >= best_depth and depth < len(keys) and keys[depth] in line:
                # inline table or array on this line mentions the key
                best, best_depth = number, depth + 1
    return best


def _common(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class _PolicyFile(Model):
    verify: VerifyPolicy


def load_policy(path: Path) -> VerifyPolicy:
    """A policy file: a TOML file with a [verify] table (the same keys as in aurora.toml)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return _PolicyFile.model_validate(data).verify
    except ValidationError as exc:
        raise _config_error(exc, text, path) from None


def json_schema() -> dict:
    return Config.model_json_schema()
