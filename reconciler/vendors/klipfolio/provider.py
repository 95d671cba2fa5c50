"""Klipfolio: roles (company and client scopes) and client share rights."""

from __future__ import annotations

from reconciler.plugin import (
    ProviderError,
    ProviderStopped,
    Response,
    VendorDefaults,
    json_or_none,
)
from reconciler.vendors.klipfolio.reads import KlipfolioReads
from reconciler.vendors.klipfolio.rights import ShareRights
from reconciler.vendors.klipfolio.roles import Roles
from reconciler.vendors.klipfolio.vocab import ID


class KlipfolioProvider(KlipfolioReads):
    TYPE = "klipfolio"
    DEFAULTS = VendorDefaults(
        base_url="https://app.klipfolio.com/api/1",
        credential_env="KLIPFOLIO_API_KEY",
        credential_key="api_key_env",
        credential_prefixes=("KLIPFOLIO_",),
        rate_limit_per_second=5,
        vendor_hosts=("app.klipfolio.com",),
        api_paths=("/api/1", "/api/1.0"),
        options={"protected_roles": ("Admin",)},
    )
    ID_FORMAT = ID
    HANDLERS = (Roles(), ShareRights())

    _key_works = False
    """Whether a call with this key has succeeded in this run (then a 401 on a share-rights
    write is the key's user lacking client.share, not a bad key)."""

    def auth_headers(self, credential: str) -> dict[str, str]:
        return {"kf-api-key": credential}

    def fatal(self, response: Response) -> ProviderError | None:
        status = response.status_code
        if status < 300:
            self._key_works = True
            return None
        if status != 401 or not self._key_works or response.method not in ("PUT", "DELETE"):
            return None
        path = response.url.removeprefix(self.http.base_url)
        if "/share-rights" not in path.partition("?")[0]:
            return None
        # The reference's other 401: "users from other companies and users who do not
        # have share rights". Only this object fails; the key itself works.
        code, message = self.parse_error(response)
        return ProviderError(
            self.alias,
            f"{response.method} {path}: the key's user lacks the client.share permission "
            f"(Klipfolio: {message})",
            status,
            code,
        )

    def exhausted(self, response: Response) -> ProviderError | None:
        # Klipfolio's daily request quota is answered 429, like its per-second limit; the
        # per-second limit clears within the retries, so a 429 that outlasts them is the
        # quota, and no later call of this run would be answered.
        code, message = self.parse_error(response)
        return ProviderStopped(
            self.alias,
            f"Klipfolio's request quota is used up ({message}: still 429 after every try); "
            "no further calls are made to this provider in this run",
            429,
            code,
        )

    def parse_error(self, response: Response) -> tuple[str | None, str]:
        body = json_or_none(response)
        meta = body.get("meta") if isinstance(body, dict) else None
        if isinstance(meta, dict):
            return meta.get("error_code"), str(meta.get("error_desc") or meta.get("error_code"))
        return None, f"HTTP {response.status_code}"
