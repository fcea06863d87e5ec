"""SessionTable without Qt: which rows show, in what order, and edits that reproduce them."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapter_core.admin.sessions_view import TokenState
from console.services.session_columns import COLUMNS, column_index
from console.services.session_query import SessionQuery
from console.services.session_rows import (
    CachedCounts,
    ChangeKind,
    RowSource,
    SessionChange,
    SessionRow,
    TraderSessionRow,
)
from console.services.session_table import (
    Changed,
    Edit,
    Inserted,
    Removed,
    Reordered,
    Reset,
    SessionTable,
)

NOW = 1_780_000_000.0
USER = column_index("User")
STATE = column_index("State")
LAST_ACTIVITY = column_index("Last activity")
REQUESTS = column_index("Requests")
TOKEN = column_index("Token id")


def token_id(number: int) -> str:
    return f"{number:02x}" + "c0ffee" * 5


def row(
    number: int,
    *,
    user_id: int = 14601,
    brokers: tuple[str, ...] = ("BESTBROKER",),
    accounts: tuple[int, ...] | None = None,
    state: TokenState | None = TokenState.ISSUED,
    last_activity: float | None = None,
    requests: int = 0,
    session_account: int | None = None,
    instance: str | None = None,
) -> SessionRow:
    """A token row; with `session_account` it has one trader session on that account (on
    adapter instance `instance`, where several share a store)."""
    sessions: tuple[TraderSessionRow, ...] = ()
    if session_account is not None:
        sessions = (
            TraderSessionRow(
                session_account,
                brokers[0],
                NOW - 600,
                last_activity or NOW,
                requests,
                cached=CachedCounts(positions=number % 3),
                instance=instance,
            ),
        )
    return SessionRow(
        token_id=token_id(number),
        user_id=user_id,
        broker_names=brokers,
        ctid_trader_account_ids=accounts,
        is_verified=number % 2 == 0,
        issued_at=NOW - 3600 * number,
        expires_at=NOW + 3600 * (30 - number),
        state=state,
        last_activity=last_activity,
        request_count=requests,
        trader_sessions=sessions,
    )


def console_row(record: str, *, user_id: int = 14601, broker: str = "BESTBROKER") -> SessionRow:
    """A token minted here whose id the adapter never told."""
    return SessionRow(
        token_id=None,
        user_id=user_id,
        broker_names=(broker,),
        ctid_trader_account_ids=None,
        is_verified=True,
        issued_at=NOW - 60,
        expires_at=NOW + 3600,
        state=None,
        source=RowSource.CONSOLE,
        record_id=record,
    )


def upsert(changed: SessionRow) -> SessionChange:
    return SessionChange(ChangeKind.UPSERT, changed.key, changed)


def remove(number: int) -> SessionChange:
    return SessionChange(ChangeKind.REMOVE, token_id(number))


def replayed(rows: list[SessionRow], edits: Sequence[Edit]) -> list[SessionRow]:
    """The edits replayed as a Qt model does, checking each is one Qt could announce."""
    rows = rows.copy()
    for edit in edits:
        size = len(rows)
        if isinstance(edit, Removed):
            assert 0 <= edit.first <= edit.last < size
        elif isinstance(edit, Inserted):
            assert edit.rows
            assert 0 <= edit.first <= size
        elif isinstance(edit, Changed):
            assert edit.rows
            assert 0 <= edit.first <= edit.last < size
            before = rows[edit.first : edit.last + 1]
            assert [r.key for r in before] == [r.key for r in edit.rows]  # same rows, new data
            assert all(old != new for old, new in zip(before, edit.rows, strict=True))
        elif isinstance(edit, Reordered):
            assert sorted(edit.order) == list(range(size))
            assert edit.order != tuple(range(size))  # a move that moves nothing is noise
        edit.replay(rows)
        if isinstance(edit, Removed):
            assert len(rows) == size - (edit.last - edit.first + 1)
        elif isinstance(edit, Inserted):
            assert rows[edit.first : edit.last + 1] == list(edit.rows)
    return rows


def keys(rows: Sequence[SessionRow]) -> list[str]:
    return [r.key for r in rows]


def numbers(*wanted: int) -> list[str]:
    return [token_id(n) for n in wanted]


def table_with(rows: list[SessionRow]) -> SessionTable:
    table = SessionTable()
    table.reset(rows)
    return table


# Edits


def test_each_edit_replays_as_its_name_says() -> None:
    a, b, c, d = (row(n) for n in range(4))
    a2 = row(0, user_id=7)
    assert replayed([a, b, c], [Removed(0, 1)]) == [c]
    assert replayed([a, c], [Inserted(1, (b, d))]) == [a, b, d, c]
    assert replayed([a, b, c], [Changed(0, (a2,))]) == [a2, b, c]
    assert replayed([a, b, c], [Reordered((2, 0, 1))]) == [b, c, a]
    assert replayed([a, b], [Reset((c,))]) == [c]


# Reset and the default order


def test_reset_shows_every_row_newest_activity_first_and_no_activity_last() -> None:
    table = SessionTable()
    rows = [
        row(1),
        row(2, last_activity=NOW - 100),
        row(3, last_activity=NOW - 5),
        console_row("r1"),
    ]
    edits = table.reset(rows)
    expected = [*numbers(3, 2), "record:r1", token_id(1)]  # no activity: by key, descending
    assert keys(table.visible_rows()) == expected
    assert edits == [Reset(tuple(table.visible_rows()))]
    assert len(table) == 4
    assert table.row("record:r1") == rows[3]


def test_reset_keeps_the_last_of_rows_with_the_same_key() -> None:
    table = table_with([row(1, user_id=5), row(2), row(1, user_id=6)])
    assert len(table) == 2
    changed = table.row(token_id(1))
    assert changed is not None
    assert changed.user_id == 6


# Filtering


@pytest.fixture
def found() -> SessionTable:
    return table_with(
        [
            row(0x1A, user_id=14601, accounts=(137780091,)),
            row(0x2B, user_id=146, brokers=("Pepperstone",), state=TokenState.REVOKED),
            row(
                0x3C,
                user_id=9001,
                brokers=("ICMarkets", "BESTBROKER"),
                state=TokenState.ACTIVE,
                last_activity=NOW - 5,
                session_account=555000111,
            ),
            row(0x4D, user_id=31460, brokers=("FXPRO",), accounts=(42,), state=TokenState.EXPIRED),
            console_row("r1", user_id=7, broker="Other"),
        ]
    )


@pytest.mark.parametrize(
    ("text", "state", "expected"),
    [
        ("14601", None, [0x1A]),
        ("146", None, [0x1A, 0x2B]),  # userId prefix; 31460 contains 146 but does not start with it
        ("pepperstone", None, [0x2B]),
        ("  BestBroker ", None, [0x1A, 0x3C]),
        ("pepper", None, []),  # broker names match whole
        ("13778", None, [0x1A]),  # a listed account id
        ("555000111", None, [0x3C]),  # an account seen through a trader session
        ("3Cc0ff", None, [0x3C]),  # token id prefix, any case
        ("c0ffee", None, []),  # not the start of any id
        ("", TokenState.REVOKED, [0x2B]),
        ("146", TokenState.REVOKED, [0x2B]),
        ("146", TokenState.ACTIVE, []),
    ],
)
def test_the_query_picks_the_visible_rows_and_hides_none_for_good(
    found: SessionTable, text: str, state: TokenState | None, expected: list[int]
) -> None:
    found.set_query(SessionQuery(text, state))
    assert sorted(keys(found.visible_rows())) == numbers(*expected)
    assert len(found) == 5
    assert found.row(token_id(0x4D)) is not None
    found.set_query(SessionQuery())
    assert len(found.visible_rows()) == 5


def test_a_new_query_removes_runs_from_the_bottom_then_inserts_in_place() -> None:
    rows = [row(n, user_id=100 + n % 2, requests=n) for n in range(6)]
    table = table_with(rows)
    table.sort(REQUESTS, descending=False)
    edits = table.set_query(SessionQuery("100"))
    assert edits == [Removed(5, 5), Removed(3, 3), Removed(1, 1)]
    assert table.set_query(SessionQuery("100")) == []
    edits = table.set_query(SessionQuery())
    assert edits == [Inserted(3, (rows[5],)), Inserted(2, (rows[3],)), Inserted(1, (rows[1],))]
    assert table.visible_rows() == rows
    assert table.set_query(SessionQuery("101")) == [Removed(4, 4), Removed(2, 2), Removed(0, 0)]


def test_rows_follow_the_query_as_they_change(found: SessionTable) -> None:
    found.set_query(SessionQuery(state=TokenState.ISSUED))
    assert keys(found.visible_rows()) == numbers(0x1A)
    edits = found.apply(
        [
            upsert(row(0x1A, user_id=14601, state=TokenState.ACTIVE)),  # leaves
            upsert(row(0x60, user_id=1)),  # new and shown
            upsert(row(0x61, user_id=2, state=TokenState.REVOKED)),  # new and hidden
        ]
    )
    assert edits == [Removed(0, 0), Inserted(0, (row(0x60, user_id=1),))]
    assert found.row(token_id(0x61)) is not None
    assert len(found) == 7
    found.apply([upsert(row(0x61, user_id=2))])
    assert keys(found.visible_rows()) == numbers(0x61, 0x60)


# Sorting


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("column", range(len(COLUMNS)))
def test_sort_by_each_column_orders_by_its_raw_key(column: int, descending: bool) -> None:
    rows = [
        row(
            n,
            user_id=(7, 100, 31460, 9)[n % 4],
            brokers=(("fxpro",), ("BESTBROKER",), ("ICMarkets", "ab"))[n % 3],
            accounts=(None, (42, 7), (137780091,))[n % 3],
            state=[*TokenState, None][n % 6],
            last_activity=(None, NOW - 9, NOW - 100)[n % 3],
            requests=(5, 40, 100, 9)[n % 4],
            session_account=(None, 42)[n % 2],
        )
        for n in range(12)
    ] + [console_row("r1")]
    table = table_with(rows)
    table.sort(column, descending)
    sort_key = COLUMNS[column].sort_key
    expected = sorted(rows, key=lambda r: (sort_key(r), r.key), reverse=descending)
    assert table.visible_rows() == expected


def test_numbers_sort_as_numbers_and_missing_activity_as_zero() -> None:
    requests = [5, 40, 100, 9]
    table = table_with([row(n, requests=r) for n, r in enumerate(requests)])
    table.sort(REQUESTS, descending=False)
    assert [r.request_count for r in table.visible_rows()] == [5, 9, 40, 100]
    assert COLUMNS[LAST_ACTIVITY].sort_key(row(1)) == 0.0
    assert COLUMNS[TOKEN].sort_key(console_row("r1")) == ""
    state_key = COLUMNS[STATE].sort_key
    in_use_first = [TokenState.ACTIVE, TokenState.IDLE, TokenState.ISSUED, TokenState.EXPIRED]
    ranks = [state_key(row(1, state=s)) for s in [*in_use_first, TokenState.REVOKED, None]]
    assert ranks == sorted(ranks)


def test_sorting_by_another_column_is_one_reorder_and_an_unknown_column_nothing() -> None:
    table = table_with([row(n, user_id=u) for n, u in enumerate([30, 10, 20])])
    assert keys(table.visible_rows()) == numbers(2, 1, 0)
    assert table.sort(USER, descending=False) == [Reordered((1, 0, 2))]
    assert keys(table.visible_rows()) == numbers(1, 2, 0)
    assert table.sort(USER, descending=False) == []
    assert table.sort(len(COLUMNS), descending=True) == []
    assert table.sort(-1, descending=True) == []


# Applying changes


def test_unchanged_rows_emit_nothing_and_changed_ones_change_in_place() -> None:
    table = table_with([row(n) for n in range(5)])
    assert table.apply([upsert(row(n)) for n in range(5)]) == []
    revoked = row(3, state=TokenState.REVOKED)
    edits = table.apply([upsert(row(1)), upsert(revoked), upsert(row(2, user_id=9))])
    assert edits == [Changed(1, (revoked, row(2, user_id=9)))]  # rows 4 3 2 1 0 by key


def test_removals_go_in_runs_from_the_bottom_and_unknown_keys_are_ignored() -> None:
    table = table_with([row(n) for n in range(10)])
    edits = table.apply([remove(2), remove(3), remove(4), remove(7), remove(99)])
    assert edits == [Removed(5, 7), Removed(2, 2)]
    assert keys(table.visible_rows()) == numbers(9, 8, 6, 5, 1, 0)
    assert table.row(token_id(3)) is None
    assert len(table) == 6


def test_only_the_latest_change_of_a_key_in_a_batch_counts() -> None:
    table = table_with([row(1), row(2)])
    table.apply([upsert(row(1, user_id=5)), remove(1), remove(2), upsert(row(2, user_id=6))])
    assert table.visible_rows() == [row(2, user_id=6)]
    table.apply([SessionChange(ChangeKind.UPSERT, token_id(2))])  # an upsert without a row
    assert table.visible_rows() == [row(2, user_id=6)]


def test_new_rows_go_where_the_sort_puts_them() -> None:
    table = table_with([row(n, user_id=10 * n) for n in range(1, 6)])
    table.sort(USER, descending=False)
    new = [row(7, user_id=25), row(8, user_id=26), row(9, user_id=5), row(10, user_id=99)]
    edits = table.apply([upsert(r) for r in new])
    assert edits == [
        Inserted(5, (new[3],)),
        Inserted(2, (new[0], new[1])),
        Inserted(0, (new[2],)),
    ]
    users = [r.user_id for r in table.visible_rows()]
    assert users == [5, 10, 20, 25, 26, 30, 40, 50, 99]


def test_a_changed_sort_key_changes_the_row_then_moves_it_once() -> None:
    table = table_with([row(n, user_id=10 * n) for n in range(1, 5)])
    table.sort(USER, descending=False)
    edits = table.apply([upsert(row(1, user_id=45)), upsert(row(3, user_id=31))])
    assert edits == [
        Changed(0, (row(1, user_id=45),)),
        Changed(2, (row(3, user_id=31),)),
        Reordered((3, 0, 1, 2)),
    ]
    assert [r.user_id for r in table.visible_rows()] == [20, 31, 40, 45]


# Holding the order


def test_while_held_rows_stay_put_new_ones_go_last_and_release_sorts_once() -> None:
    table = table_with([row(n, last_activity=NOW - n) for n in range(1, 5)])
    assert table.hold(True) == []
    edits = table.apply(
        [
            upsert(row(4, last_activity=NOW)),  # would jump to the top
            remove(2),
            upsert(row(9, last_activity=NOW - 50)),
            upsert(row(8, last_activity=NOW + 1)),
        ]
    )
    assert edits == [
        Removed(1, 1),
        Changed(2, (row(4, last_activity=NOW),)),
        Inserted(3, (row(8, last_activity=NOW + 1), row(9, last_activity=NOW - 50))),
    ]
    assert keys(table.visible_rows()) == numbers(1, 3, 4, 8, 9)
    table.set_query(SessionQuery(token_id(3)[:6]))
    table.set_query(SessionQuery())
    assert keys(table.visible_rows()) == numbers(3, 8, 4, 1, 9)  # back, but after row 3
    edits = table.hold(False)
    assert edits == [Reordered((3, 0, 1, 2, 4))]
    assert keys(table.visible_rows()) == numbers(8, 4, 1, 3, 9)
    assert table.hold(False) == []


def test_a_header_click_sorts_even_while_held() -> None:
    table = table_with([row(n, user_id=u) for n, u in enumerate([30, 10, 20])])
    table.hold(True)
    assert table.sort(USER, descending=True) == [Reordered((1, 2, 0))]
    assert [r.user_id for r in table.visible_rows()] == [30, 20, 10]
    assert table.hold(False) == []


# Adapter instances


def test_the_instances_of_every_held_row_are_counted_through_changes() -> None:
    table = SessionTable()
    table.reset([row(1, session_account=1, instance="a"), row(2), console_row("r1")])
    assert table.instances() == {"a"}
    table.apply([upsert(row(3, session_account=1, instance="b"))])
    assert table.instances() == {"a", "b"}
    table.set_query(SessionQuery(state=TokenState.REVOKED))  # hidden rows still count
    assert table.visible_rows() == []
    assert table.instances() == {"a", "b"}
    table.apply([upsert(row(1, session_account=1, instance="b"))])
    assert table.instances() == {"b"}
    table.apply([remove(3), remove(9)])  # 9 was never held
    assert table.instances() == {"b"}
    table.apply([remove(1)])
    assert table.instances() == set()
    table.reset([row(4, session_account=1, instance="c")])
    assert table.instances() == {"c"}


# Any sequence of operations


USERS = (14601, 14602, 146, 9001)
QUERIES = [
    SessionQuery(text, state)
    for text in ("", "146", "1460", "14601", "1377", "bestbroker", token_id(3)[:6])
    for state in (None, TokenState.ISSUED, TokenState.ACTIVE)
]


@st.composite
def any_row(draw: st.DrawFn) -> SessionRow:
    if draw(st.integers(0, 9)) == 0:
        return console_row(
            draw(st.sampled_from(["r1", "r2"])), user_id=draw(st.sampled_from(USERS))
        )
    return row(
        draw(st.integers(0, 11)),
        user_id=draw(st.sampled_from(USERS)),
        brokers=draw(st.sampled_from([("BESTBROKER",), ("FXPRO", "bestbroker")])),
        accounts=draw(st.sampled_from([None, (137780091,), ()])),
        state=draw(st.sampled_from([*TokenState, None])),
        last_activity=draw(st.sampled_from([None, NOW - 5, NOW - 100])),  # ties on purpose
        requests=draw(st.integers(0, 3)),
        session_account=draw(st.sampled_from([None, 137700001])),
        instance=draw(st.sampled_from([None, "a", "b"])),
    )


def any_change() -> st.SearchStrategy[SessionChange]:
    removal = st.builds(
        lambda n, record: SessionChange(ChangeKind.REMOVE, record or token_id(n)),
        st.integers(0, 11),
        st.sampled_from([None, None, "record:r1"]),
    )
    return st.one_of(any_row().map(upsert), removal)


operations = st.one_of(
    st.tuples(st.just("reset"), st.lists(any_row(), max_size=14)),
    st.tuples(st.just("apply"), st.lists(any_change(), max_size=8)),
    st.tuples(st.just("query"), st.sampled_from(QUERIES)),
    st.tuples(st.just("sort"), st.integers(-1, len(COLUMNS)), st.booleans()),
    st.tuples(st.just("hold"), st.booleans()),
)


class Expected:
    """The visible rows worked out the slow, obvious way."""

    def __init__(self) -> None:
        self.rows: dict[str, SessionRow] = {}
        self.query = SessionQuery()
        self.column, self.descending, self.held = LAST_ACTIVITY, True, False
        self.visible: list[SessionRow] = []

    def sorted(self, rows: list[SessionRow]) -> list[SessionRow]:
        key = COLUMNS[self.column].sort_key
        return sorted(rows, key=lambda r: (key(r), r.key), reverse=self.descending)

    def show(self, *, resort: bool) -> None:
        matching = [r for r in self.rows.values() if self.query.matches(r)]
        if resort or not self.held:
            self.visible = self.sorted(matching)
            return
        now = {r.key: r for r in matching}
        kept = [now[r.key] for r in self.visible if r.key in now]
        before = {r.key for r in self.visible}
        self.visible = kept + self.sorted([r for r in matching if r.key not in before])


@settings(max_examples=300, deadline=None)
@given(st.lists(operations, max_size=14))
def test_edits_replayed_reproduce_the_visible_rows_after_any_operations(
    steps: list[tuple[object, ...]],
) -> None:
    table, expected, mirror = SessionTable(), Expected(), list[SessionRow]()
    for step in steps:
        match step:
            case ("reset", list() as new):
                edits = table.reset(new)
                expected.rows = {r.key: r for r in new}
                expected.show(resort=True)
            case ("apply", list() as batch):
                edits = table.apply(batch)
                for change in batch:
                    if change.kind is ChangeKind.REMOVE:
                        expected.rows.pop(change.key, None)
                    elif change.row is not None:
                        expected.rows[change.key] = change.row
                expected.show(resort=False)
                assert not any(isinstance(edit, Reset) for edit in edits)
            case ("query", SessionQuery() as query):
                edits = table.set_query(query)
                expected.query = query
                expected.show(resort=False)
            case ("sort", int(column), bool(descending)):
                edits = table.sort(column, descending)
                if 0 <= column < len(COLUMNS):
                    expected.column, expected.descending = column, descending
                    expected.show(resort=True)
            case ("hold", bool(held)):
                edits = table.hold(held)
                expected.held = held
                expected.show(resort=not held)
            case _:
                raise AssertionError(step)
        if expected.held:
            assert not any(isinstance(edit, Reordered) for edit in edits) or step[0] == "sort"
        mirror = replayed(mirror, edits)
        assert mirror == table.visible_rows() == expected.visible
        assert len(table) == len(expected.rows)
        assert table.instances() == {i for r in expected.rows.values() for i in r.instances}
