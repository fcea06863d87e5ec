"""The 21 stages of "The TradingView Integration Flow", in our own words, with who acts.

The one definition the Demo page lists and the headless run prints. A stage that does not
apply to a case says why, so the presenter can explain the skip instead of hiding it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Case(StrEnum):
    A = "A"
    """Not registered with the broker."""
    B = "B"
    """Registered with the broker, no cTrader account yet."""
    C = "C"
    """Has cTrader accounts with the broker; links one or more."""


CASE_TITLES = {
    Case.A: "A: a new trader, not registered with the broker",
    Case.B: "B: registered with the broker, no cTrader account yet",
    Case.C: "C: already trades with the broker; links existing accounts",
}


class Actor(StrEnum):
    TRADINGVIEW = "TradingView client"
    CLIENT_AREA = "Broker's client area"
    ADAPTER = "TradingView adapter"
    BACKEND = "cTrader backend"


ACTORS = (Actor.TRADINGVIEW, Actor.CLIENT_AREA, Actor.ADAPTER, Actor.BACKEND)
ALL_CASES = frozenset(Case)
NEW_USERS = frozenset({Case.A, Case.B})


@dataclass(frozen=True, slots=True)
class Stage:
    number: int
    title: str
    narration: str
    cases: frozenset[Case] = ALL_CASES
    skipped_because: str = ""
    """Why the stage does not apply to the other cases."""

    def applies(self, case: Case) -> bool:
        return case in self.cases


_ACCOUNTS_EXIST = "the trader already has cTrader accounts with this broker, so nothing is created"

STAGES: tuple[Stage, ...] = (
    Stage(1, "Sign in to TradingView", "The trader signs in to TradingView, with an account they "
          "have or one they create now. Nothing has touched the broker yet."),
    Stage(2, "Open the Trading Panel", "They open any chart and switch to the Trading Panel tab, "
          "where TradingView lists what the trader can trade through."),
    Stage(3, "TradingView lists its brokers", "The Trading Panel shows every broker integrated "
          "with TradingView. Ours is one of them because its adapter passed TradingView's tests."),
    Stage(4, "The trader picks this broker", "The trader chooses our broker in that list."),
    Stage(5, "Connect an account?", "TradingView opens a pop-up inviting the trader to connect "
          "one account, or several, held with this broker."),
    Stage(6, "Off to the broker's client area", "The trader agrees, and TradingView sends them "
          "to the broker's client area: from here on the broker is in charge."),
    Stage(7, "The client area shows the right form", "Depending on who the trader is, the client "
          "area shows registration (case A), a new trading account (case B), or the accounts "
          "the trader may link (case C)."),
    Stage(8, "The trader fills it in", "A new trader registers and opens an account (A), a "
          "registered one opens an account (B), an existing client ticks the accounts to link "
          "(C)."),
    Stage(9, "The client area registers the user", "The broker's client area records the new "
          "user in the broker's own systems.", NEW_USERS, _ACCOUNTS_EXIST),
    Stage(10, "Requests to the cTrader backend", "The client area asks the cTrader backend to "
          "create the user (A only), create a trading account, and link it to the user.",
          NEW_USERS, _ACCOUNTS_EXIST),
    Stage(11, "cTrader does the work", "The cTrader backend creates the user and the account and "
          "links them.", NEW_USERS, _ACCOUNTS_EXIST),
    Stage(12, "cTrader confirms", "The backend answers the client area: the user, the account and "
          "the link now exist.", NEW_USERS, _ACCOUNTS_EXIST),
    Stage(13, "The client area asks for a token", "The client area calls the adapter's "
          "/generate/token with the broker secret: the user id, the broker names, the linked "
          "account ids and whether the user is verified."),
    Stage(14, "The adapter mints the token", "The adapter checks the secret and the body, mints a "
          "token for exactly those accounts and returns it (valid for 30 days)."),
    Stage(15, "Back to TradingView with the token", "The client area hands the token to the "
          "TradingView client and sends the trader back to the address TradingView set up."),
    Stage(16, "TradingView keeps the token", "The TradingView client stores the token. The "
          "trader never sees it; it rides on every request from now on."),
    Stage(17, "TradingView calls the adapter", "Whenever the trader needs something from cTrader "
          "(their accounts, balances, positions, an order), the TradingView client calls the "
          "adapter with the token."),
    Stage(18, "The adapter asks cTrader", "The adapter checks the token, maps it to the user and "
          "the accounts it grants, and asks the cTrader backend."),
    Stage(19, "cTrader answers", "The backend does what was asked and answers the adapter."),
    Stage(20, "The adapter answers TradingView", "The adapter turns cTrader's answer into "
          "TradingView's format and returns it."),
    Stage(21, "The trader sees it", "The Trading Panel shows the accounts, the balance, positions "
          "and orders, and the trader can trade."),
)  # fmt: skip

STAGE_COUNT = len(STAGES)
