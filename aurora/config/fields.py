"""The building blocks of the config model: safe alphabets for what lands in generated files.

Every string that later lands in a generated file is constrained here — paths and names to
safe alphabets, free text to "no control characters" — so the render stage never has to guess.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from aurora.refs import ReferenceError, parse_ref

# A relative path of plain names: no "..", no leading "/", nothing a shell or nginx would read.
_REL_PATH = re.compile(r"^(?!.*(?:^|/)\.\.?(?:/|$))[A-Za-z0-9._@+-][A-Za-z0-9._@+ -]*(?:/[A-Za-z0-9._@+-][A-Za-z0-9._@+ -]*)*$")
# URL paths that go into the web-server config: an absolute path of unreserved characters.
_URL_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain newlines or other control characters")
    return value


def _rel_path(value: str) -> str:
    value = value.strip()
    if value.endswith("/"):
        value = value.rstrip("/")
    if not _REL_PATH.match(value):
        raise ValueError(
            f"{value!r} must be a relative path inside the app folder"
            " (letters, digits, . _ - @ + and spaces; no '..', no leading '/')"
        )
    return value


def _url_path(value: str) -> str:
    if value != "/" and value.endswith("/"):
        value = value.rstrip("/")
    if not _URL_PATH.match(value) or "//" in value or "/../" in value + "/":
        raise ValueError(
            f"{value!r} must be an absolute URL path of letters, digits and . _ ~ - /"
        )
    return value


SafeText = Annotated[str, BeforeValidator(lambda v: _no_control(v) if isinstance(v, str) else v)]
RelPath = Annotated[str, BeforeValidator(lambda v: _rel_path(v) if isinstance(v, str) else v)]
# A folder inside the app folder, "." (the app folder itself) included.
FolderPath = Annotated[str, BeforeValidator(lambda v: (("." if v.strip() in (".", "./") else _rel_path(v))
                                                       if isinstance(v, str) else v))]
UrlPath = Annotated[str, BeforeValidator(lambda v: _url_path(v) if isinstance(v, str) else v)]
Port = Annotated[int, Field(ge=1024, le=65535, description="TCP port, 1024-65535 (the image runs as a non-root user)")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)



def _image_ref(v: Any) -> Any:
    if isinstance(v, str):
        try:
            parse_ref(v)
        except ReferenceError as exc:
            raise ValueError(str(exc)) from None
    return v


ImageRefText = Annotated[str, BeforeValidator(_image_ref)]

