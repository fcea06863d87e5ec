"""The /generate/token body: strict validation with messages that name the field.

Public so the console can run the very same rules inline before it sends anything. Every
problem is collected, so an operator fixes a bad body in one round trip.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapter_core.tokens.claims import (
    MAX_ACCOUNT_IDS,
    MAX_BROKER_NAME_LENGTH,
    MAX_BROKER_NAMES,
    MAX_INT64,
)

MAX_BODY_BYTES = 16 * 1024
FIELDS = ("userId", "brokerNames", "ctidTraderAccountIds", "isVerified")


@dataclass(frozen=True, slots=True)
class TokenRequest:
    user_id: int
    broker_names: tuple[str, ...]
    account_ids: tuple[int, ...] | None
    is_verified: bool


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    """The body field at fault, or "body" for the body as a whole."""
    message: str


class TokenRequestError(ValueError):
    """The body was refused; `problems` lists every reason, `str()` joins them."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__(" ".join(problem.message for problem in problems))
        self.problems = problems


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """The object, built in C; the pairs are walked only when a key was lost to a repeat."""
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return document


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
"""Built once: `json.loads` with hooks builds a new decoder for every body."""


def parse_token_request_body(body: bytes) -> TokenRequest:
    """Parse raw bytes as JSON (UTF-8, no duplicate keys, no NaN) and validate the object."""
    try:
        document = _DECODER.decode(body.decode("utf-8"))
    except _DuplicateKeyError as exc:
        raise TokenRequestError(
            [FieldProblem(str(exc), f"Field '{exc}' appears more than once in the body.")]
        ) from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise TokenRequestError(
            [FieldProblem("body", "The request body is not valid JSON.")]
        ) from None
    return validate_token_request(document)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int64(value: object) -> bool:
    return _is_int(value) and 0 < value <= MAX_INT64  # type: ignore[operator]


def _broker_name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    if len(name) > MAX_BROKER_NAME_LENGTH:
        return f"must be at most {MAX_BROKER_NAME_LENGTH} characters"
    if name != name.strip():
        return "must not start or end with white space"
    if name.isascii():
        clean = name.isprintable()  # in ASCII the only "C" (other) characters are controls
    else:
        clean = not any(unicodedata.category(char).startswith("C") for char in name)
    if not clean:
        return "must not contain control or unassigned characters"
    return None


def _check_user_id(document: Mapping[str, Any], problems: list[FieldProblem]) -> None:
    if "userId" not in document:
        problems.append(FieldProblem("userId", "userId is required."))
    elif not _positive_int64(document["userId"]):
        problems.append(
            FieldProblem("userId", f"userId must be a positive integer no larger than {MAX_INT64}.")
        )


def _check_broker_names(document: Mapping[str, Any], problems: list[FieldProblem]) -> None:
    if "brokerNames" not in document:
        problems.append(FieldProblem("brokerNames", "brokerNames is required."))
        return
    names = document["brokerNames"]
    if not isinstance(names, list) or not names:
        problems.append(
            FieldProblem("brokerNames", "brokerNames must be a non-empty array of broker names.")
        )
        return
    if len(names) > MAX_BROKER_NAMES:
        problems.append(
            FieldProblem("brokerNames", f"brokerNames may hold at most {MAX_BROKER_NAMES} names.")
        )
        return
    seen: set[str] = set()
    for index, name in enumerate(names):
        problem = _broker_name_problem(name)
        if problem is None and name in seen:
            problem = "repeats an earlier name"
        if problem:
            problems.append(FieldProblem("brokerNames", f"brokerNames[{index}] {problem}."))
        seen.add(name if isinstance(name, str) else "")


def _check_account_ids(document: Mapping[str, Any], problems: list[FieldProblem]) -> None:
    if "ctidTraderAccountIds" not in document:
        return
    ids = document["ctidTraderAccountIds"]
    field = "ctidTraderAccountIds"
    if not isinstance(ids, list):
        problems.append(FieldProblem(field, f"{field} must be an array of account ids."))
    elif not ids:
        problems.append(
            FieldProblem(
                field,
                f"{field} must not be empty; leave it out to grant every account "
                "under brokerNames.",
            )
        )
    elif len(ids) > MAX_ACCOUNT_IDS:
        problems.append(FieldProblem(field, f"{field} may hold at most {MAX_ACCOUNT_IDS} ids."))
    else:
        seen: set[int] = set()
        for index, account in enumerate(ids):
            if not _positive_int64(account):
                problems.append(
                    FieldProblem(
                        field,
                        f"{field}[{index}] must be a positive integer no larger than {MAX_INT64}.",
                    )
                )
            elif account in seen:
                problems.append(FieldProblem(field, f"{field}[{index}] repeats an earlier id."))
            else:
                seen.add(account)


def validate_token_request(document: object) -> TokenRequest:
    """Check a decoded body against the source document's table; raise on any problem."""
    if not isinstance(document, dict):
        raise TokenRequestError([FieldProblem("body", "The request body must be a JSON object.")])
    problems = [
        FieldProblem(
            str(key),
            f"Unknown field '{key}'; the accepted fields are {', '.join(FIELDS)}.",
        )
        for key in document
        if key not in FIELDS
    ]
    _check_user_id(document, problems)
    _check_broker_names(document, problems)
    _check_account_ids(document, problems)
    if "isVerified" in document and not isinstance(document["isVerified"], bool):
        problems.append(FieldProblem("isVerified", "isVerified must be true or false."))
    if problems:
        raise TokenRequestError(problems)
    accounts = document.get("ctidTraderAccountIds")
    return TokenRequest(
        user_id=document["userId"],
        broker_names=tuple(document["brokerNames"]),
        account_ids=None if accounts is None else tuple(accounts),
        is_verified=document.get("isVerified", False),
    )


def request_body(request: TokenRequest) -> dict[str, Any]:
    """The body a request came from, as the source document spells it (the inverse of parsing)."""
    body: dict[str, Any] = {"userId": request.user_id, "brokerNames": list(request.broker_names)}
    if request.account_ids is not None:
        body["ctidTraderAccountIds"] = list(request.account_ids)
    body["isVerified"] = request.is_verified
    return body
