"""How the console words times, counts, accounts and ids: one place, so every page agrees."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

NO_TIME = "—"
SHORT_ID_LENGTH = 12


def local_time(timestamp: float | None, *, zone: bool = True) -> str:
    """'2026-12-03 08:12:45 UTC' in the machine's time zone; a dash for no time."""
    if not timestamp:
        return NO_TIME
    moment = datetime.fromtimestamp(timestamp).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z" if zone else "%Y-%m-%d %H:%M:%S")


def clock_time(moment: datetime) -> str:
    """'08:12:45' in the machine's time zone, for lists that show today's events."""
    return moment.astimezone().strftime("%H:%M:%S")


def relative_time(timestamp: float, now: float) -> str:
    """'in 29 d', '2 h ago', '35 s ago', 'now': the largest whole unit, rounded down."""
    delta = timestamp - now
    seconds = abs(delta)
    if seconds < 1:
        return "now"
    if seconds < 60:
        amount, unit = int(seconds), "s"
    elif seconds < 3600:
        amount, unit = int(seconds // 60), "min"
    elif seconds < 86400:
        amount, unit = int(seconds // 3600), "h"
    else:
        amount, unit = int(seconds // 86400), "d"
    return f"in {amount} {unit}" if delta > 0 else f"{amount} {unit} ago"


def countdown(seconds: float) -> str:
    """'29 d 23:59:59 left', or 'expired'."""
    if seconds <= 0:
        return "expired"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days} d {hours:02d}:{minutes:02d}:{secs:02d} left"


def count(amount: int, noun: str, plural: str | None = None) -> str:
    """'1 token', '2 tokens', '1,024 requests'."""
    word = noun if amount == 1 else (plural or f"{noun}s")
    return f"{amount:,} {word}"


def accounts_text(account_ids: Sequence[int] | None) -> str:
    """A token's listed accounts, or what no list means."""
    if account_ids is None:
        return "all accounts"
    return ", ".join(str(account) for account in account_ids)


def short_id(token_id: str | None) -> str:
    """The first characters of a token id; a dash where the adapter never told it."""
    if not token_id:
        return NO_TIME
    return f"{token_id[:SHORT_ID_LENGTH]}…" if len(token_id) > SHORT_ID_LENGTH else token_id


def file_name_part(text: str) -> str:
    """'Staging EU (new)' as 'staging-eu-new': a name a proposed file name can carry, so two
    profiles' exports of one day are not proposed the same name."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words) or "profile"
