"""TradingView's form-encoded bodies, read strictly: every bad field is a sentence, not a 500."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TypeVar
from urllib.parse import parse_qsl

from adapter_core.refusals import Refusal

T = TypeVar("T")

MAX_FORM_BYTES = 16 * 1024
MAX_NUMBER = 1e12
"""Far above any real quantity or price; keeps arithmetic on them finite."""
DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|\.[0-9]+", re.ASCII)
"""What a quantity or price may look like: ASCII digits only. Python's float() would also take
`1_0` (ten), `١٠` (Arabic-Indic ten), fullwidth digits, `inf` and surrounding spaces."""
MAX_REQUEST_ID_LENGTH = 64
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}", re.ASCII)
"""TradingView's requestId is an opaque short string; anything longer or stranger is refused,
which bounds the idempotency memory of a session (MAX_REQUEST_IDS ids of this length)."""


class FormError(Refusal):
    """A field is missing or malformed; str() is shown to the trader as a business refusal."""


class Form:
    """Fields of a form body or query string; each field may appear once."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._fields: dict[str, str] = {}
        for name, value in pairs:
            if name in self._fields:
                raise FormError(f"The field {name} was sent more than once.")
            self._fields[name] = value

    @classmethod
    def parse(cls, body: bytes) -> Form:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise FormError("The request body is not UTF-8 text.") from None
        return cls(parse_qsl(text, keep_blank_values=True))

    def __contains__(self, name: str) -> bool:
        return bool(self._fields.get(name, "").strip())

    def text(self, name: str) -> str:
        value = self._fields.get(name, "").strip()
        if not value:
            raise FormError(f"The field {name} is required.")
        return value

    def optional_text(self, name: str) -> str | None:
        return self.text(name) if name in self else None

    def number(self, name: str) -> float:
        text = self._fields.get(name, "")
        if not text.strip():
            raise FormError(f"The field {name} is required.")
        if DECIMAL.fullmatch(text) is None:
            raise FormError(f"{name} must be a number written with the digits 0-9 and a point.")
        value = float(text)
        if not math.isfinite(value) or value <= 0:
            raise FormError(f"{name} must be a positive number.")
        if value > MAX_NUMBER:
            raise FormError(f"{name} is too large.")
        return value

    def optional_number(self, name: str) -> float | None:
        return self.number(name) if name in self else None

    def choice(self, name: str, choices: Mapping[str, T]) -> T:
        """Exactly one of `choices`: `buy ` with a space is not `buy`."""
        value = self._fields.get(name, "")
        if not value.strip():
            raise FormError(f"The field {name} is required.")
        if value not in choices:
            raise FormError(f"{name} must be one of {', '.join(sorted(choices))}.")
        return choices[value]


def request_id(value: str | None) -> str | None:
    """A requestId as TradingView sends it, or None; a FormError for anything else."""
    if value is None or value == "":
        return None
    if REQUEST_ID.fullmatch(value) is None:
        raise FormError(
            f"requestId must be 1 to {MAX_REQUEST_ID_LENGTH} letters, digits, '.', '_', ':' or '-'."
        )
    return value
