"""A tag editor: values typed (Enter, comma or space adds one) or picked from suggestions.

Used for brokerNames and ctidTraderAccountIds. Each tag is a chip with a remove button;
Backspace in an empty input removes the last tag. Chips wrap onto more rows rather than
widening the window. A `check` callable refuses bad values with
a message, shown under the field by the page, so nothing invalid becomes a tag silently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QCompleter, QLineEdit, QToolButton, QWidget

from console.views.flow_layout import FlowLayout

TagCheck = Callable[[str], str | None]
"""Returns an error message for a value that cannot be a tag, else None."""


class _Input(QLineEdit):
    backspace_on_empty = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Backspace and not self.text():
            self.backspace_on_empty.emit()
            return
        super().keyPressEvent(event)


class TagEditor(QWidget):
    changed = Signal()
    rejected = Signal(str)
    """A typed value was refused; the argument says why."""

    def __init__(self, hint: str, check: TagCheck, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._check = check
        self._tags: list[str] = []
        self._chips: list[QToolButton] = []
        self._layout = FlowLayout(self)
        self.input = _Input(self)
        self.input.setPlaceholderText(hint)
        self.input.returnPressed.connect(self._commit_input)
        self.input.textEdited.connect(self._on_edited)
        self.input.backspace_on_empty.connect(self._remove_last)
        self._suggestions = QStringListModel(self)
        completer = QCompleter(self._suggestions, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        # Queued: the input puts the chosen completion into its text after `activated` is
        # delivered, so clearing it any earlier would leave the tag's text behind.
        completer.activated.connect(self._add_suggestion, Qt.ConnectionType.QueuedConnection)
        self.input.setCompleter(completer)
        self._layout.addWidget(self.input)

    def tags(self) -> list[str]:
        return list(self._tags)

    def pending_text(self) -> str:
        """Text typed but not yet made a tag (the page validates it too)."""
        return self.input.text().strip()

    def set_tags(self, values: Sequence[str]) -> None:
        for chip in self._chips:
            self._drop(chip)
        self._chips = []
        self._tags = []
        for value in values:
            self._append(value)
        self.input.clear()
        self.changed.emit()

    def set_suggestions(self, values: Sequence[str]) -> None:
        self._suggestions.setStringList(list(values))

    def commit_pending(self) -> bool:
        """Turn typed text into a tag; False (and `rejected`) if it is not a valid value."""
        text = self.pending_text()
        if not text:
            return True
        if not self._try_add(text):
            return False
        self.input.clear()
        self.changed.emit()
        return True

    def _on_edited(self, text: str) -> None:
        if text.endswith((",", " ")):
            self.input.setText(text.rstrip(", "))
            self._commit_input()
        else:
            self.changed.emit()

    def _commit_input(self) -> None:
        self.commit_pending()

    def _add_suggestion(self, text: str) -> None:
        """A suggestion taken is a tag at once; the input empties for the next one."""
        if self._try_add(text):
            self.input.clear()
            self.changed.emit()

    def _try_add(self, text: str) -> bool:
        problem = self._check(text)
        if problem is not None:
            self.rejected.emit(problem)
            return False
        if text not in self._tags:
            self._append(text)
        return True

    def _append(self, value: str) -> None:
        chip = QToolButton(self)
        chip.setText(f"{value}  ✕")
        chip.setToolTip(f"Remove {value}")
        chip.setAutoRaise(False)
        chip.setProperty("chip", True)
        chip.clicked.connect(lambda: self._remove(value))
        self._layout.insert_widget(len(self._chips), chip)
        self._chips.append(chip)
        self._tags.append(value)

    def _remove(self, value: str) -> None:
        index = self._tags.index(value)
        chip = self._chips.pop(index)
        self._tags.pop(index)
        self._drop(chip)
        self.changed.emit()
        self.input.setFocus()

    def _drop(self, chip: QToolButton) -> None:
        """Out of the layout at once, so the editor shrinks now, not once Qt deletes it."""
        self._layout.removeWidget(chip)
        chip.hide()
        chip.deleteLater()

    def _remove_last(self) -> None:
        if self._tags:
            self._remove(self._tags[-1])
