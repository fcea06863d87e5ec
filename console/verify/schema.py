"""TradingView's object shapes (Broker REST API, schema 1.3.27 and later additions).

Required fields, JSON types and enums, checked with the path of every problem, so a failed
check reads `d[0].config.supportLogout: expected boolean, got "yes"`. Fields TradingView does
not define are allowed: later versions add fields, and brokers send legacy ones.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["string", "number", "boolean", "object", "array", "flags", "any"]


@dataclass(frozen=True, slots=True)
class Shape:
    kind: Kind
    required: bool = False
    enum: tuple[str, ...] = ()
    fields: dict[str, Shape] = field(default_factory=dict)
    items: Shape | None = None


def _req(kind: Kind, **extra: Any) -> Shape:
    return Shape(kind, True, **extra)


def _opt(kind: Kind, **extra: Any) -> Shape:
    return Shape(kind, False, **extra)


def _obj(**fields: Shape) -> Shape:
    return Shape("object", True, fields=fields)


def _optional_obj(**fields: Shape) -> Shape:
    return Shape("object", False, fields=fields)


def _list(items: Shape, required: bool = False) -> Shape:
    return Shape("array", required, items=items)


SIDES = ("buy", "sell")
ORDER_TYPES = ("market", "limit", "stop", "stoplimit")
ORDER_STATUSES = ("placing", "inactive", "working", "rejected", "filled", "cancelled")
FINAL_STATUSES = ("rejected", "filled", "cancelled")
INSTRUMENT_TYPES = (
    "stock", "dr", "right", "bond", "warrant", "structured", "index", "forex", "futures",
    "crypto", "cfd",
)  # fmt: skip

COLUMN = _obj(
    id=_req("string"),
    title=_req("string"),
    tooltip=_opt("string"),
    alignment=_opt("string", enum=("left", "right")),
    isCapitalize=_opt("boolean"),
)
SUMMARY_FIELD = _obj(id=_req("string"), title=_req("string"))
TABLE = _obj(id=_req("string"), title=_opt("string"), columns=_list(COLUMN, required=True))
DURATION = _obj(
    id=_req("string"),
    title=_req("string"),
    hasDatePicker=_opt("boolean"),
    hasTimePicker=_opt("boolean"),
    default=_opt("boolean"),
    supportedOrderTypes=_list(_req("string", enum=ORDER_TYPES)),
)
UI_FIELDS: dict[str, Shape] = {
    "accountSummaryRow": _list(SUMMARY_FIELD),
    "accountManager": _list(TABLE),
    "orderCustomFields": _list(COLUMN),
    "orderHistoryCustomFields": _list(COLUMN),
    "positionCustomFields": _list(COLUMN),
}
CONFIG = _obj(
    **UI_FIELDS,
    durations=_list(DURATION),
    pullingInterval=_optional_obj(
        quotes=_opt("number"),
        orders=_opt("number"),
        positions=_opt("number"),
        accountManager=_opt("number"),
        balances=_opt("number"),
    ),
)
ACCOUNT = _obj(
    id=_req("string"),
    name=_req("string"),
    type=_req("string", enum=("live", "demo")),
    currency=_opt("string"),
    currencySign=_opt("string"),
    config=_req("flags"),
    ui=_optional_obj(**UI_FIELDS),
    durations=_list(DURATION),
    prefix=_opt("string"),
    isVerified=_opt("boolean"),
)
INSTRUMENT = _obj(
    name=_req("string"),
    description=_req("string"),
    type=_req("string", enum=INSTRUMENT_TYPES),
    minTick=_req("number"),
    pipSize=_req("number"),
    pipValue=_req("number"),
    minQty=_opt("number"),
    maxQty=_opt("number"),
    qtyStep=_opt("number"),
    lotSize=_opt("number"),
    marginRate=_opt("number"),
    hasQuotes=_opt("boolean"),
    units=_opt("string"),
    baseCurrency=_opt("string"),
    quoteCurrency=_opt("string"),
)
STATE = _obj(
    balance=_req("number"),
    unrealizedPl=_req("number"),
    equity=_opt("number"),
    amData=_list(_list(_list(_req("string"), required=True), required=True)),
    accountSummaryRowData=_list(_req("string")),
)
MESSAGE = _optional_obj(
    text=_req("string"), type=_req("string", enum=("information", "warning", "error"))
)
CUSTOM_FIELDS = _list(_obj(id=_req("string"), value=_req("any")))


def _order(statuses: tuple[str, ...]) -> Shape:
    return _obj(
        id=_req("string"),
        instrument=_req("string"),
        qty=_req("number"),
        side=_req("string", enum=SIDES),
        type=_req("string", enum=ORDER_TYPES),
        status=_req("string", enum=statuses),
        filledQty=_opt("number"),
        avgPrice=_opt("number"),
        limitPrice=_opt("number"),
        stopPrice=_opt("number"),
        trailingStopPips=_opt("number"),
        isTrailingStop=_opt("boolean"),
        parentId=_opt("string"),
        parentType=_opt("string", enum=("order", "position")),
        duration=_optional_obj(type=_req("string"), datetime=_opt("number")),
        lastModified=_opt("number"),
        customFields=CUSTOM_FIELDS,
        message=MESSAGE,
    )


ORDER = _order(ORDER_STATUSES)
ORDER_HISTORY = _order(FINAL_STATUSES)
POSITION = _obj(
    id=_req("string"),
    instrument=_req("string"),
    qty=_req("number"),
    side=_req("string", enum=SIDES),
    avgPrice=_req("number"),
    unrealizedPl=_opt("number"),
    message=MESSAGE,
    customFields=CUSTOM_FIELDS,
)
EXECUTION = _obj(
    id=_req("string"),
    instrument=_req("string"),
    price=_req("number"),
    time=_req("number"),
    qty=_req("number"),
    side=_req("string", enum=SIDES),
    orderId=_req("string"),
    isClose=_req("boolean"),
    positionId=_opt("string"),
    commission=_opt("number"),
)
QUOTE_VALUES = _obj(
    ask=_req("number"),
    bid=_req("number"),
    spread=_opt("number"),
    lp=_opt("number"),
    ch=_opt("number"),
    chp=_opt("number"),
    open_price=_opt("number"),
    high_price=_opt("number"),
    low_price=_opt("number"),
    prev_close_price=_opt("number"),
    volume=_opt("number"),
    buyPipValue=_opt("number"),
    sellPipValue=_opt("number"),
)
QUOTE = _obj(
    s=_req("string", enum=("ok", "error")),
    n=_req("string"),
    v=Shape("object", False, fields=QUOTE_VALUES.fields),
    errmsg=_opt("string"),
)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def problems(value: Any, shape: Shape, path: str) -> list[str]:
    """Every way `value` (found at `path`) departs from `shape`."""
    if shape.kind == "any":
        return []
    found = _type_name(value)
    expected = "object" if shape.kind == "flags" else shape.kind
    if found != expected:
        return [f"{path}: expected {expected}, got {_shown(value)}"]
    if found == "number" and not math.isfinite(value):
        return [f"{path}: expected a finite number, got {value}"]
    if shape.enum and value not in shape.enum:
        return [f"{path}: expected one of {', '.join(shape.enum)}, got {_shown(value)}"]
    if shape.kind == "flags":
        return [
            f"{_join(path, name)}: expected boolean, got {_shown(flag)}"
            for name, flag in value.items()
            if not isinstance(flag, bool)
        ]
    found_problems: list[str] = []
    if shape.kind == "object":
        for name, inner in shape.fields.items():
            if name not in value:
                if inner.required:
                    found_problems.append(f"{_join(path, name)}: required, missing")
                continue
            found_problems += problems(value[name], inner, _join(path, name))
    elif shape.kind == "array" and shape.items is not None:
        for index, item in enumerate(value):
            found_problems += problems(item, shape.items, f"{path}[{index}]")
    return found_problems


def list_problems(value: Any, item: Shape, path: str = "d") -> list[str]:
    return problems(value, Shape("array", True, items=item), path)
