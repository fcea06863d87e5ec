"""The Trading Panel preview in a window of its own, for any token the console holds.

Opened from the Tokens page (the token just minted) or the Sessions page (a session whose token
this console minted), on any profile, remote ones included: a verifier sees what TradingView
would show that trader, and what happens after a logout. Its exchanges go to the Activity log
under the profile, masked, like every other call of the console. On a production profile the
window says so, and every order and logout asks first, as the console's pages do.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from console.demo.panel import LOCALE, PanelEnded, PanelRefused, PanelSession
from console.services.client import AdapterUnavailable
from console.services.logouts import LogoutTarget
from console.services.operations import AdapterOps
from console.services.redaction import mask
from console.slots import task_slot
from console.views.confirm import confirm
from console.views.trading_panel import TradingPanel


def _token_named(ops: AdapterOps, token: str) -> str:
    """As the Tokens and Sessions pages name it: its id where the adapter told it, else the
    token masked as the Tokens page shows it."""
    token_id = ops.token_id_of(token)
    return f"token id {token_id[:12]}…" if token_id else f"token {mask(token)}"


class PanelWindow(QWidget):
    def __init__(self, ops: AdapterOps, token: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self._ops = ops
        self._token = token
        self.closed = False
        profile = ops.profile
        production = " · PRODUCTION" if profile.production else ""
        self.setWindowTitle(
            f"Trading Panel preview · {profile.name}{production} · {_token_named(ops, token)}"
        )
        self.resize(520, 640)
        self.panel = TradingPanel(self)
        self.tasks = self.panel.tasks
        self.note = QLabel(
            f"What TradingView would show for this token on {profile.name} "
            f"({profile.base_url}). Figures are the adapter's latest answers."
            + (
                " This is a production adapter: orders and logouts here are real, and each "
                "asks first."
                if profile.production
                else ""
            ),
            self,
        )
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.panel, 1)
        self.panel.logout_requested.connect(self._logout)
        self.panel.reconnect_requested.connect(self.close)
        self.panel.order_requested.connect(self._order)
        self._session = PanelSession(
            ops.client,
            token,
            {},
            on_update=self.panel.show_update,
            on_ended=self.panel.session_ended,
            on_problem=self.panel.problem,
        )
        self.panel.show_waiting(f"Connecting to {ops.profile.name} with the token…")
        self.tasks.spawn(self._connect())

    async def _connect(self) -> None:
        session = self._session
        try:
            config = await session.get("/config")
            session.config = config if isinstance(config, dict) else {}
            accounts = [a for a in await session.get("/accounts") or [] if isinstance(a, dict)]
            if not accounts:
                self.panel.show_waiting("The token grants no account: nothing to show.")
                return
            found = await session.get(f"/accounts/{accounts[0].get('id')}/instruments")
        except PanelEnded:
            self.panel.show_waiting("The adapter refuses this token (401): it was logged out.")
            return
        except PanelRefused as exc:
            self.panel.show_waiting(f"The adapter refused {exc}")
            return
        except AdapterUnavailable as exc:
            self.panel.show_waiting(f"The adapter could not be asked: {exc}")
            return
        instruments = [i for i in found or [] if isinstance(i, dict)]
        self.panel.start(session, accounts, instruments)

    async def _confirmed(self, title: str, text: str, accept_label: str) -> bool:
        """True at once on a test profile; on a production one, only if the operator agrees."""
        profile = self._ops.profile
        if not profile.production:
            return True
        where = f"{profile.name} ({profile.base_url})"
        return await confirm(self, title, f"{text} on {where}.", accept_label)

    @task_slot
    async def _logout(self) -> None:
        if not await self._confirmed(
            "Log out on a production adapter?",
            f"The {_token_named(self._ops, self._token)} will stop working",
            "Log out",
        ):
            return
        [result] = await self._ops.logout([LogoutTarget.pasted(self._token)])
        self.panel.problem(f"Logout: {result.message}")

    @task_slot
    async def _order(self, account: str, side: str, kind: str, qty: float, limit: object) -> None:
        fields: dict[str, Any] = {
            "instrument": self.panel.instrument(),
            "qty": qty,
            "side": side,
            "type": kind,
        }
        if kind == "limit" and isinstance(limit, int | float):
            fields["limitPrice"] = limit
        price = f" at {fields['limitPrice']}" if "limitPrice" in fields else ""
        if not await self._confirmed(
            "Place an order on a production adapter?",
            f"A real {kind} order: {side} {qty:g} {fields['instrument']}{price}, account {account}",
            "Place order",
        ):
            return
        try:
            answer = await self._ops.client.request(
                "POST",
                f"/accounts/{account}/orders",
                bearer=self._token,
                params=LOCALE,
                content=urlencode(fields).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except AdapterUnavailable as exc:
            self.panel.problem(str(exc))
            return
        if answer.status == 401:
            self.panel.session_ended(answer.errmsg or "the adapter refused the token")
            return
        data = answer.data if answer.ok and isinstance(answer.data, dict) else {}
        self.panel.problem(
            f"Order {data.get('orderId')} placed." if answer.ok else f"Refused: {answer.errmsg}"
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closed = True
        self.panel.stop()
        self.tasks.close()
        super().closeEvent(event)
