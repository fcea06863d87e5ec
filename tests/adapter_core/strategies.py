"""Hypothesis strategies for claims that the validation rules would let through."""

from __future__ import annotations

from hypothesis import strategies as st

from adapter_core.tokens.claims import (
    MAX_ACCOUNT_IDS,
    MAX_BROKER_NAME_LENGTH,
    MAX_BROKER_NAMES,
    MAX_INT64,
    TokenClaims,
)

positive_int64 = st.integers(min_value=1, max_value=MAX_INT64)
broker_names = st.text(
    alphabet=st.characters(blacklist_categories=["Cc", "Cf", "Cs", "Co", "Cn"]),
    min_size=1,
    max_size=MAX_BROKER_NAME_LENGTH,
)
timestamps = st.integers(min_value=0, max_value=2**40)


@st.composite
def claims(draw: st.DrawFn) -> TokenClaims:
    issued = draw(timestamps)
    return TokenClaims(
        token_id=draw(st.binary(min_size=16, max_size=16)),
        user_id=draw(positive_int64),
        broker_names=tuple(
            draw(st.lists(broker_names, min_size=1, max_size=MAX_BROKER_NAMES, unique=True))
        ),
        account_ids=draw(
            st.none()
            | st.lists(positive_int64, min_size=1, max_size=MAX_ACCOUNT_IDS, unique=True).map(tuple)
        ),
        is_verified=draw(st.booleans()),
        issued_at=issued,
        expires_at=issued + draw(st.integers(min_value=1, max_value=2**31)),
    )
