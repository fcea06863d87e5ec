"""A scripted TradingView client: what the Trading Panel sends, as it sends it.

Form-encoded bodies, `locale` on every call, an Origin header from tradingview.com and the
bearer token minted by /generate/token.
"""

from __future__ import annotations

from typing import Any

import httpx

ORIGIN = "https://www.tradingview.com"


class TradingViewClient:
    def __init__(self, base_url: str, token: str, locale: str = "en") -> None:
        self.locale = locale
        self.http = httpx.Client(
            base_url=base_url,
            timeout=10,
            headers={
                "Authorization": f"Bearer {token}",
                "Origin": ORIGIN,
                "User-Agent": "tradingview-scripted-client/1",
            },
        )

    def close(self) -> None:
        self.http.close()

    def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        form: dict[str, Any] | None = None,
    ) -> httpx.Response:
        query = {"locale": self.locale, **(params or {})}
        return self.http.request(method, path, params=query, data=form)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        """The `d` of an ok answer; fails loudly with the adapter's errmsg otherwise."""
        response = self.call(method, path, **kwargs)
        body = response.json()
        assert response.status_code == 200, (response.status_code, body)
        assert body["s"] == "ok", body
        return body.get("d")

    def account_ids(self) -> set[str]:
        return {account["id"] for account in self.ok("GET", "/accounts")}


def mint(adapter_url: str, secret: str, **claims: Any) -> str:
    body = {"userId": 14601, "brokerNames": ["BESTBROKER"], "isVerified": True, **claims}
    response = httpx.post(
        f"{adapter_url}/generate/token",
        json=body,
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["d"]
    return token
