"""The Sessions table without Qt: every row held, the visible ones filtered and in order.

`SessionTable` keeps all rows by key, shows those the current `SessionQuery` matches, and
keeps them sorted by one column. Every operation returns the edits that turn the previous
visible rows into the new ones, in order: a Qt model replays each between its begin and end
calls (`Edit.replay` on its own copy of the rows), so selection and scroll survive. Edits
are small on purpose: rows leave with `Removed`, arrive with `Inserted`, change in place with
`Changed`, and move with one `Reordered`, whose permutation carries persistent indexes (and
so the selection) along.

While held (the pointer is over the table) rows never move: changed rows update in place,
new rows go to the end, and releasing the hold sorts once.

It also counts the adapter instances the held rows' sessions are on, so the model can show
the Instance column exactly while there are several.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby

from console.services.session_columns import COLUMNS, SortKey, column_index
from console.services.session_query import SessionQuery
from console.services.session_rows import ChangeKind, SessionChange, SessionRow

_RowKey = tuple[SortKey, str]
"""A column's sort key, then the row key, so no two rows tie and every sort agrees."""


@dataclass(frozen=True, slots=True)
class Reset:
    """Every visible row replaced: nothing of the previous rows is kept."""

    rows: tuple[SessionRow, ...]

    def replay(self, rows: list[SessionRow]) -> None:
        rows[:] = self.rows


@dataclass(frozen=True, slots=True)
class Removed:
    """Rows `first` to `last` (inclusive) are gone."""

    first: int
    last: int

    def replay(self, rows: list[SessionRow]) -> None:
        del rows[self.first : self.last + 1]


@dataclass(frozen=True, slots=True)
class Inserted:
    """`rows` now start at `first`; the rows from `first` on move down."""

    first: int
    rows: tuple[SessionRow, ...]

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1

    def replay(self, rows: list[SessionRow]) -> None:
        rows[self.first : self.first] = self.rows


@dataclass(frozen=True, slots=True)
class Changed:
    """The rows from `first` on are new versions of the rows that were there."""

    first: int
    rows: tuple[SessionRow, ...]

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1

    def replay(self, rows: list[SessionRow]) -> None:
        rows[self.first : self.last + 1] = self.rows


@dataclass(frozen=True, slots=True)
class Reordered:
    """The same rows in another order: the row at `i` moves to `order[i]`."""

    order: tuple[int, ...]

    def replay(self, rows: list[SessionRow]) -> None:
        moved = rows.copy()
        for old, new in enumerate(self.order):
            moved[new] = rows[old]
        rows[:] = moved


Edit = Reset | Removed | Inserted | Changed | Reordered

DEFAULT_SORT = column_index("Last activity")


def _runs(positions: Iterable[int]) -> list[list[int]]:
    """Sorted positions as runs of consecutive ones."""
    return [
        [position for _, position in run]
        for _, run in groupby(enumerate(sorted(positions)), lambda pair: pair[1] - pair[0])
    ]


class SessionTable:
    """Rows by key, the query that picks the visible ones, and the order they show in."""

    def __init__(self) -> None:
        self._rows: dict[str, SessionRow] = {}
        """Every row, visible or not."""
        self._query = SessionQuery()
        self._column = DEFAULT_SORT
        self._descending = True
        self._held = False
        self._visible: list[SessionRow] = []
        self._keys: list[_RowKey] = []
        """The sort key of each visible row, in display order (sorted unless held)."""
        self._places: dict[str, int] = {}
        """Visible row key → its position."""
        self._instances: Counter[str] = Counter()
        """Adapter instance → how many held rows have a session on it."""

    # Reading

    def visible_rows(self) -> list[SessionRow]:
        return self._visible.copy()

    def row(self, key: str) -> SessionRow | None:
        """A row by key, even when the query hides it."""
        return self._rows.get(key)

    def __len__(self) -> int:
        """Every row held, visible or not."""
        return len(self._rows)

    def instances(self) -> frozenset[str]:
        """The adapter instances the held rows' sessions are on (visible or not)."""
        return frozenset(self._instances)

    # Changing

    def reset(self, rows: Iterable[SessionRow]) -> list[Edit]:
        """Replace every row; of rows with the same key the last one counts."""
        self._rows = {row.key: row for row in rows}
        self._instances = Counter(
            instance for row in self._rows.values() for instance in row.instances
        )
        self._show(self._sorted([row for row in self._rows.values() if self._query.matches(row)]))
        return [Reset(tuple(self._visible))]

    def replace(self, rows: Iterable[SessionRow]) -> list[Edit]:
        """Every row anew, as changes rather than a reset: rows still there change in place,
        so a view's selection and scroll survive a reload that is not an event stream."""
        fresh = {row.key: row for row in rows}
        gone = [SessionChange(ChangeKind.REMOVE, key) for key in self._rows if key not in fresh]
        kept = [SessionChange(ChangeKind.UPSERT, key, row) for key, row in fresh.items()]
        return self.apply(gone + kept)

    def apply(self, changes: Iterable[SessionChange]) -> list[Edit]:
        """The feed's changes: only each key's last change counts, unchanged rows emit nothing."""
        final: dict[str, SessionRow | None] = {}
        for change in changes:
            if change.kind is ChangeKind.REMOVE:
                final[change.key] = None
            elif change.row is not None:
                final[change.row.key] = change.row
        gone: list[int] = []
        updated: list[SessionRow] = []
        added: list[SessionRow] = []
        for key, row in final.items():
            place = self._places.get(key)
            held = self._rows.get(key)
            if row is None:
                if held is not None:
                    del self._rows[key]
                    self._count(held, -1)
                if place is not None:
                    gone.append(place)
                continue
            if held == row:
                continue
            if held is not None:
                self._count(held, -1)
            self._count(row, 1)
            self._rows[key] = row
            if not self._query.matches(row):
                if place is not None:
                    gone.append(place)
            elif place is None:
                added.append(row)
            else:
                updated.append(row)
        edits = self._remove(gone)
        if updated:
            edits += self._update({self._places[row.key]: row for row in updated})
        return edits + self._add(added)

    def set_query(self, query: SessionQuery) -> list[Edit]:
        """Show the rows `query` matches: others leave, newly matching ones are inserted."""
        if query == self._query:
            return []
        self._query = query
        gone = [place for place, row in enumerate(self._visible) if not query.matches(row)]
        shown = self._places
        added = [row for key, row in self._rows.items() if key not in shown and query.matches(row)]
        return self._remove(gone) + self._add(added)

    def sort(self, column: int, descending: bool) -> list[Edit]:
        """Sort by `column` (any other number keeps the order); even while held, as asked."""
        if not 0 <= column < len(COLUMNS):
            return []
        self._column, self._descending = column, descending
        self._keys = [self._key(row) for row in self._visible]
        return self._reorder()

    def hold(self, held: bool) -> list[Edit]:
        """Keep rows where they are while held; sort once on release."""
        self._held = held
        return [] if held else self._reorder()

    # Inside

    def _count(self, row: SessionRow, step: int) -> None:
        for instance in row.instances:
            self._instances[instance] += step
            if self._instances[instance] <= 0:
                del self._instances[instance]

    def _key(self, row: SessionRow) -> _RowKey:
        return (COLUMNS[self._column].sort_key(row), row.key)

    def _sorted(self, rows: list[SessionRow]) -> list[SessionRow]:
        return sorted(rows, key=self._key, reverse=self._descending)

    def _show(self, rows: list[SessionRow]) -> None:
        self._visible = rows
        self._keys = [self._key(row) for row in rows]
        self._renumber()

    def _renumber(self) -> None:
        self._places = {row.key: place for place, row in enumerate(self._visible)}

    def _remove(self, places: list[int]) -> list[Edit]:
        """Remove runs from the bottom up, so each run's numbers are still right."""
        edits: list[Edit] = []
        for run in reversed(_runs(places)):
            first, last = run[0], run[-1]
            del self._visible[first : last + 1]
            del self._keys[first : last + 1]
            edits.append(Removed(first, last))
        if edits:
            self._renumber()
        return edits

    def _update(self, rows: dict[int, SessionRow]) -> list[Edit]:
        """Replace rows in place, by position; if a new key puts one out of order, sort once."""
        for place, row in rows.items():
            self._visible[place] = row
            self._keys[place] = self._key(row)
        edits: list[Edit] = [
            Changed(run[0], tuple(rows[place] for place in run)) for run in _runs(rows)
        ]
        if not self._held and not all(map(self._in_order, rows)):
            edits += self._reorder()
        return edits

    def _in_order(self, place: int) -> bool:
        keys, key = self._keys, self._keys[place]
        before = place == 0 or (keys[place - 1] > key) == self._descending
        after = place == len(keys) - 1 or (key > keys[place + 1]) == self._descending
        return before and after

    def _add(self, rows: list[SessionRow]) -> list[Edit]:
        """New rows where the sort puts them, or while held after every row, in sort order."""
        if not rows:
            return []
        rows = self._sorted(rows)
        if self._held:
            places = [len(self._visible)] * len(rows)
        else:
            places = [self._place(self._key(row)) for row in rows]
        groups = [
            (place, [row for _, row in group])
            for place, group in groupby(zip(places, rows, strict=True), lambda pair: pair[0])
        ]
        edits: list[Edit] = []
        for place, group in reversed(groups):
            self._visible[place:place] = group
            self._keys[place:place] = [self._key(row) for row in group]
            edits.append(Inserted(place, tuple(group)))
        self._renumber()
        return edits

    def _place(self, key: _RowKey) -> int:
        """Where a key goes among the visible rows' sorted keys."""
        keys, low, high = self._keys, 0, len(self._keys)
        while low < high:
            middle = (low + high) // 2
            if (keys[middle] > key) == self._descending:
                low = middle + 1
            else:
                high = middle
        return low

    def _reorder(self) -> list[Edit]:
        """Sort the visible rows in one move; nothing if they already are."""
        keys = self._keys
        picked = sorted(range(len(keys)), key=keys.__getitem__, reverse=self._descending)
        if all(old == new for new, old in enumerate(picked)):
            return []
        order = [0] * len(picked)
        for new, old in enumerate(picked):
            order[old] = new
        self._visible = [self._visible[old] for old in picked]
        self._keys = [keys[old] for old in picked]
        self._renumber()
        return [Reordered(tuple(order))]
