"""Read queries over the SQLite token store: listing issued tokens with filters and paging.

Built from fixed SQL fragments with every value bound as a parameter; sets of token ids
(from in-memory trader sessions) travel as one JSON array of hex strings.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from adapter_core.admin.search import SearchQuery
from adapter_core.store.base import TokenQuery, TokenRecord, TokenSort
from adapter_core.tokens.claims import TokenClaims

_COLUMNS = (
    "t.token_id, t.user_id, t.broker_names, t.account_ids, t.is_verified, t.issued_at, "
    "t.expires_at, t.key_id, r.revoked_at"
)
_FROM = "FROM issued_tokens t LEFT JOIN revocations r ON r.token_id = t.token_id"
_ORDER = {
    TokenSort.ISSUED_AT: "t.issued_at",
    TokenSort.EXPIRES_AT: "t.expires_at",
    TokenSort.USER_ID: "t.user_id",
}


def _hex_list(token_ids: frozenset[bytes]) -> str:
    return json.dumps(sorted(token_id.hex().upper() for token_id in token_ids))


def _search(search: SearchQuery, session_token_ids: frozenset[bytes]) -> tuple[str, list[Any]]:
    """`SearchQuery.matches` in SQL: one OR of the alternatives that apply to its text.

    `instr` on the stored JSON rules out most tokens before `json_each` parses their accounts;
    NOCASE folds ASCII letters only, as the Python rule does.
    """
    alternatives: list[str] = []
    values: list[Any] = []
    number = search.number_prefix
    if number is not None:
        alternatives += [
            "substr(CAST(t.user_id AS TEXT), 1, ?) = ?",
            "(instr(t.account_ids, ?) > 0 AND EXISTS (SELECT 1 FROM json_each(t.account_ids)"
            " WHERE substr(CAST(value AS TEXT), 1, ?) = ?))",
            "hex(t.token_id) IN (SELECT value FROM json_each(?))",
        ]
        values += [len(number), number, number, len(number), number]
        values.append(_hex_list(session_token_ids))
    token_id = search.token_id_prefix
    if token_id is not None:
        alternatives.append("substr(hex(t.token_id), 1, ?) = ?")
        values += [len(token_id), token_id.upper()]
    broker = search.broker_name
    if broker is not None:
        alternatives.append(
            "EXISTS (SELECT 1 FROM json_each(t.broker_names) WHERE value = ? COLLATE NOCASE)"
        )
        values.append(broker)
    return f"({' OR '.join(alternatives)})", values


def _conditions(query: TokenQuery) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    values: list[Any] = []
    if query.user_id is not None:
        where.append("t.user_id = ?")
        values.append(query.user_id)
    if query.broker is not None:
        where.append("EXISTS (SELECT 1 FROM json_each(t.broker_names) WHERE value = ?)")
        values.append(query.broker)
    if query.account_id is not None:
        where.append(
            "(EXISTS (SELECT 1 FROM json_each(t.account_ids) WHERE value = ?)"
            " OR hex(t.token_id) IN (SELECT value FROM json_each(?)))"
        )
        values += [query.account_id, _hex_list(query.account_token_ids)]
    if query.token_id_prefix:
        where.append("substr(hex(t.token_id), 1, ?) = ?")
        values += [len(query.token_id_prefix), query.token_id_prefix.upper()]
    if query.search is not None and query.search.text:
        condition, search_values = _search(query.search, query.search_token_ids)
        where.append(condition)
        values += search_values
    if query.only_token_ids is not None:
        where.append("hex(t.token_id) IN (SELECT value FROM json_each(?))")
        values.append(_hex_list(query.only_token_ids))
    if query.excluded_token_ids:
        where.append("hex(t.token_id) NOT IN (SELECT value FROM json_each(?))")
        values.append(_hex_list(query.excluded_token_ids))
    if query.revoked is not None:
        where.append("r.token_id IS NOT NULL" if query.revoked else "r.token_id IS NULL")
    if query.expired is not None:
        where.append("t.expires_at <= ?" if query.expired else "t.expires_at > ?")
        values.append(query.now)
    return where, values


def _record(row: tuple[Any, ...]) -> TokenRecord:
    token_id, user_id, names, accounts, verified, issued_at, expires_at, key_id, revoked = row
    account_ids = None if accounts is None else tuple(json.loads(accounts))
    claims = TokenClaims(
        bytes(token_id),
        user_id,
        tuple(json.loads(names)),
        account_ids,
        bool(verified),
        issued_at,
        expires_at,
    )
    return TokenRecord(claims, key_id, revoked)


def query_issued(
    connection: sqlite3.Connection, query: TokenQuery
) -> tuple[int, list[TokenRecord]]:
    where, values = _conditions(query)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    (total,) = connection.execute(f"SELECT count(*) {_FROM}{clause}", values).fetchone()
    direction = "DESC" if query.descending else "ASC"
    order = f"{_ORDER[query.sort]} {direction}, t.token_id {direction}"
    rows = connection.execute(
        f"SELECT {_COLUMNS} {_FROM}{clause} ORDER BY {order} LIMIT ? OFFSET ?",
        [*values, query.limit, query.offset],
    ).fetchall()
    return total, [_record(row) for row in rows]


def issued_token(connection: sqlite3.Connection, token_id: bytes) -> TokenRecord | None:
    row = connection.execute(
        f"SELECT {_COLUMNS} {_FROM} WHERE t.token_id = ?",
        (token_id,),
    ).fetchone()
    return None if row is None else _record(row)
