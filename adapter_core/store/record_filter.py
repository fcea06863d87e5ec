"""`TokenQuery` in Python, for stores that hand back every record (Redis): the same rules the
SQLite store states in SQL, so both stores answer a query alike (the store contract tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from adapter_core.store.base import TokenQuery, TokenRecord, TokenSort

_SORT_KEYS: dict[TokenSort, Callable[[TokenRecord], int]] = {
    TokenSort.ISSUED_AT: lambda record: record.claims.issued_at,
    TokenSort.EXPIRES_AT: lambda record: record.claims.expires_at,
    TokenSort.USER_ID: lambda record: record.claims.user_id,
}


def _matches(record: TokenRecord, query: TokenQuery) -> bool:
    claims = record.claims
    token_id = claims.token_id
    if query.user_id is not None and claims.user_id != query.user_id:
        return False
    if query.broker is not None and query.broker not in claims.broker_names:
        return False
    if query.account_id is not None and not (
        query.account_id in (claims.account_ids or ()) or token_id in query.account_token_ids
    ):
        return False
    if query.token_id_prefix and not token_id.hex().startswith(query.token_id_prefix.lower()):
        return False
    search = query.search
    if search is not None and search.text:
        in_session = search.number_prefix is not None and token_id in query.search_token_ids
        if not in_session and not search.matches(
            token_id=token_id.hex(),
            user_id=claims.user_id,
            broker_names=claims.broker_names,
            account_ids=claims.account_ids,
        ):
            return False
    if query.only_token_ids is not None and token_id not in query.only_token_ids:
        return False
    if token_id in query.excluded_token_ids:
        return False
    if query.revoked is not None and (record.revoked_at is not None) != query.revoked:
        return False
    return query.expired is None or (claims.expires_at <= query.now) == query.expired


def select(records: Iterable[TokenRecord], query: TokenQuery) -> tuple[int, list[TokenRecord]]:
    """How many records match, and the requested page of them in the requested order."""
    matching = [record for record in records if _matches(record, query)]
    sort_key = _SORT_KEYS[query.sort]
    matching.sort(key=lambda record: (sort_key(record), record.claims.token_id))
    if query.descending:
        matching.reverse()
    return len(matching), matching[query.offset : query.offset + query.limit]
