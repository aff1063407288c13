"""The OAuth2 grants of self mode: client credentials, device code, authorization code + PKCE, refresh.

Device and authorization codes live in this process's memory for their few minutes of life (a restart
only makes a person start the login again). Passwords and secrets are checked against argon2 hashes and
never logged; failed logins are counted per user and address and refused beyond the configured rate.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from aerodrome.auth.errors import Unauthenticated
from aerodrome.auth.hashing import verify_secret
from aerodrome.auth.identity import Identity, parse_grants
from aerodrome.auth.store import AuthStore
from aerodrome.auth.tokens import TokenService
from aerodrome.settings import AuthSettings

log = logging.getLogger("aerodrome.auth")
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# No ":" in it: flytekit joins client id and secret with ":" for HTTP Basic without encoding the id.
TASK_CLIENT_PREFIX = "task/"


class OAuthError(Exception):
    """An RFC 6749 error answer: HTTP status, error code, description."""

    def __init__(self, status: int, error: str, description: str = "") -> None:
        super().__init__(description or error)
        self.status, self.error, self.description = status, error, description


@dataclass
class _Pending:
    client_id: str
    expires: float
    user_code: str = ""
    identity: Identity | None = None
    denied: bool = False
    extra: dict[str, str] = field(default_factory=dict)


class AuthorizationServer:
    """Issues tokens for the grants flytekit uses."""

    def __init__(self, settings: AuthSettings, store: AuthStore, tokens: TokenService, base_url: str) -> None:
        self.settings = settings
        self.store = store
        self.tokens = tokens
        self.base_url = base_url
        self._devices: dict[str, _Pending] = {}
        self._codes: dict[str, _Pending] = {}
        self._failures: dict[str, list[float]] = {}

    def _response(self, identity: Identity, *, refresh: bool) -> dict[str, Any]:
        ttl = self.settings.access_token_ttl_seconds
        body: dict[str, Any] = {
            "access_token": self.tokens.issue(identity, "access", ttl),
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": " ".join(self.settings.scopes),
        }
        if refresh:
            body["refresh_token"] = self.tokens.issue(identity, "refresh", self.settings.refresh_token_ttl_seconds)
        return body

    async def token(self, form: dict[str, str], authorization: str) -> dict[str, Any]:
        """The token endpoint."""
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            client_id, secret = _client_credentials(form, authorization)
            return self._response(await self._confidential(client_id, secret), refresh=False)
        if grant == DEVICE_GRANT:
            return self._response(self._device_token(form.get("device_code", "")), refresh=True)
        if grant == "authorization_code":
            return self._response(self._code_token(form), refresh=True)
        if grant == "refresh_token":
            return self._response(await self._refresh(form.get("refresh_token", "")), refresh=True)
        raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")

    async def _confidential(self, client_id: str, secret: str) -> Identity:
        if client_id.startswith(TASK_CLIENT_PREFIX):
            try:
                claims = self.tokens.claims(secret, "task")
            except Unauthenticated:
                raise OAuthError(401, "invalid_client", "task credential is invalid or expired") from None
            return Identity(str(claims["sub"]), "task", parse_grants(claims.get("grants", "")))
        row = await self.store.find_client(client_id) if client_id else None
        if row is None or row.revoked or not verify_secret(row.secret_hash, secret):
            log.warning("client authentication failed for client id %r", client_id)
            raise OAuthError(401, "invalid_client", "unknown client, wrong secret or revoked client")
        return Identity(client_id, "client", parse_grants(row.grants))

    def start_device(self, client_id: str) -> dict[str, Any]:
        """The device authorization endpoint: a device code to poll with and a user code to approve."""
        self._expire()
        device_code = secrets.token_urlsafe(32)
        user_code = "".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(8))
        ttl = self.settings.device_code_ttl_seconds
        self._devices[device_code] = _Pending(client_id, time.time() + ttl, user_code=user_code)
        return {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": f"{self.base_url}/auth/device",
            "verification_uri_complete": f"{self.base_url}/auth/device?user_code={user_code}",
            "expires_in": ttl,
            "interval": self.settings.device_poll_interval_seconds,
        }

    def pending_device(self, user_code: str) -> _Pending | None:
        self._expire()
        return next((p for p in self._devices.values() if p.user_code == user_code.strip().upper()), None)

    def decide_device(self, user_code: str, identity: Identity, approve: bool) -> bool:
        pending = self.pending_device(user_code)
        if pending is None or pending.identity is not None or pending.denied:
            return False
        if approve:
            pending.identity = identity
        else:
            pending.denied = True
        log.info("device code %s %s by %s", user_code, "approved" if approve else "denied", identity.subject)
        return True

    def _device_token(self, device_code: str) -> Identity:
        self._expire()
        pending = self._devices.get(device_code)
        if pending is None:
            raise OAuthError(400, "expired_token", "the device code is unknown or has expired")
        if pending.denied:
            del self._devices[device_code]
            raise OAuthError(400, "access_denied", "the request was denied")
        if pending.identity is None:
            raise OAuthError(400, "authorization_pending", "waiting for a person to approve the code")
        del self._devices[device_code]
        return pending.identity

    def issue_code(self, identity: Identity, client_id: str, redirect_uri: str, challenge: str, method: str) -> str:
        """An authorization code for a logged-in person (PKCE S256 required)."""
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Pending(
            client_id,
            time.time() + 300,
            identity=identity,
            extra={"redirect_uri": redirect_uri, "challenge": challenge},
        )
        return code

    def _code_token(self, form: dict[str, str]) -> Identity:
        self._expire()
        pending = self._codes.pop(form.get("code", ""), None)
        if pending is None or pending.identity is None:
            raise OAuthError(400, "invalid_grant", "unknown or expired authorization code")
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not verifier or not secrets.compare_digest(digest, pending.extra["challenge"]):
            raise OAuthError(400, "invalid_grant", "code_verifier does not match the code challenge")
        if form.get("client_id", pending.client_id) != pending.client_id:
            raise OAuthError(400, "invalid_grant", "the code was issued to another client")
        if form.get("redirect_uri", pending.extra["redirect_uri"]) != pending.extra["redirect_uri"]:
            raise OAuthError(400, "invalid_grant", "redirect_uri differs from the authorization request")
        return pending.identity

    async def _refresh(self, token: str) -> Identity:
        try:
            claims = self.tokens.claims(token, "refresh")
        except Unauthenticated:
            raise OAuthError(400, "invalid_grant", "refresh token is invalid or expired") from None
        row = await self.store.find_user(str(claims["sub"]))
        if row is None or row.disabled:
            raise OAuthError(400, "invalid_grant", "the user is disabled")
        return Identity(row.username, "user", parse_grants(row.grants))

    async def login(self, username: str, password: str, peer: str) -> Identity:
        """Check a person's password (rate-limited per user and address)."""
        key = f"{username}@{peer}"
        now = time.time()
        recent = [t for t in self._failures.get(key, []) if now - t < 60]
        if len(recent) >= self.settings.login_attempts_per_minute:
            log.warning("login of %r from %s refused: too many failed attempts", username, peer)
            raise Unauthenticated("too many failed logins; wait a minute and try again")
        row = await self.store.find_user(username)
        if row is None or row.disabled or not row.password_hash or not verify_secret(row.password_hash, password):
            self._failures[key] = [*recent, now]
            log.warning("failed login for user %r from %s", username, peer)
            raise Unauthenticated("wrong user name or password")
        self._failures.pop(key, None)
        return Identity(row.username, "user", parse_grants(row.grants))

    def _expire(self) -> None:
        now = time.time()
        for table in (self._devices, self._codes):
            for code in [c for c, p in table.items() if p.expires < now]:
                del table[code]


def _client_credentials(form: dict[str, str], authorization: str) -> tuple[str, str]:
    """Client id and secret from HTTP Basic (flytekit URL-encodes the secret) or from the form."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip()).decode()
        except (ValueError, UnicodeDecodeError):
            raise OAuthError(401, "invalid_client", "malformed Basic authorization") from None
        client_id, _, secret = decoded.partition(":")
        return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)
    return form.get("client_id", ""), form.get("client_secret", "")
