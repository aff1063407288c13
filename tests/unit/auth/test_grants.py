"""The OAuth2 grants of self mode on a real SQLite database: device code, PKCE, refresh, client and
task credentials, key rotation, and the refusal to run without authentication on a public address."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aerodrome.auth.errors import Unauthenticated
from aerodrome.auth.grants import DEVICE_GRANT, OAuthError
from aerodrome.auth.identity import Identity
from aerodrome.auth.keys import new_key
from aerodrome.auth.setup import AuthConfigError, AuthParts, build_auth
from aerodrome.auth.task_credentials import TaskCredentials
from aerodrome.db import migrate
from aerodrome.db.engine import Database
from aerodrome.settings import Settings


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[AuthParts]:
    settings = Settings(home=tmp_path)
    settings.auth.mode = "self"
    db = Database(settings.database_url)
    await migrate.upgrade(db)
    built = build_auth(settings, db)
    await built.load()
    try:
        yield built
    finally:
        await db.dispose()


async def test_device_code_waits_for_approval_then_issues_tokens_that_refresh(parts: AuthParts) -> None:
    server = parts.server
    assert server is not None and parts.tokens is not None
    await parts.store.create_user("alice", "a long password", {"a": "runner"})
    started = server.start_device("flytectl")
    assert started["verification_uri"].endswith("/auth/device") and len(started["user_code"]) == 8
    with pytest.raises(OAuthError) as pending:
        await server.token({"grant_type": DEVICE_GRANT, "device_code": started["device_code"]}, "")
    assert pending.value.error == "authorization_pending"
    alice = await server.login("alice", "a long password", "127.0.0.1")
    assert server.decide_device(started["user_code"].lower(), alice, approve=True)
    body = await server.token({"grant_type": DEVICE_GRANT, "device_code": started["device_code"]}, "")
    assert parts.tokens.identity(body["access_token"]) == Identity("alice", "user", {"a": "runner"})
    with pytest.raises(OAuthError, match="unknown or has expired"):  # a device code is used once
        await server.token({"grant_type": DEVICE_GRANT, "device_code": started["device_code"]}, "")
    refreshed = await server.token({"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}, "")
    assert parts.tokens.identity(refreshed["access_token"]).subject == "alice"
    await parts.store.disable_user("alice")
    with pytest.raises(OAuthError, match="disabled"):
        await server.token({"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}, "")
    with pytest.raises(OAuthError):  # an access token is not a refresh token
        await server.token({"grant_type": "refresh_token", "refresh_token": body["access_token"]}, "")


async def test_pkce_code_needs_the_matching_verifier(parts: AuthParts) -> None:
    server = parts.server
    assert server is not None
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    who = Identity("bob", "user", {"a": "viewer"})
    redirect = server.settings.redirect_uri
    code = server.issue_code(who, "flytectl", redirect, challenge, "S256")
    with pytest.raises(OAuthError, match="code_verifier"):
        await server.token({"grant_type": "authorization_code", "code": code, "code_verifier": "x" * 64}, "")
    code = server.issue_code(who, "flytectl", redirect, challenge, "S256")
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": redirect}
    assert "refresh_token" in await server.token(form, "")


async def test_client_secret_via_basic_or_form_and_task_credentials(parts: AuthParts) -> None:
    server = parts.server
    assert server is not None and parts.tokens is not None
    secret = await parts.store.create_client("ci", {"a": "admin"})
    basic = "Basic " + base64.b64encode(f"ci:{secret}".encode()).decode()
    assert (await server.token({"grant_type": "client_credentials"}, basic))["token_type"] == "Bearer"
    form = {"grant_type": "client_credentials", "client_id": "ci", "client_secret": secret}
    assert await server.token(form, "")
    with pytest.raises(OAuthError, match="wrong secret"):
        await server.token({**form, "client_secret": "nope"}, "")
    assert "$argon2id$" in (await parts.store.find_client("ci")).secret_hash  # type: ignore[union-attr]

    class Execution:
        project, name = "a", "e1"

    class Attempt:
        execution = Execution()

    env = TaskCredentials(parts.tokens, server.settings).env_for(Attempt())
    task_form = {
        "grant_type": "client_credentials",
        "client_id": env["FLYTE_CREDENTIALS_CLIENT_ID"],
        "client_secret": env["FLYTE_CREDENTIALS_CLIENT_SECRET"],
    }
    body = await server.token(task_form, "")
    assert parts.tokens.identity(body["access_token"]) == Identity("task/a/e1", "task", {"a": "runner"})
    with pytest.raises(Unauthenticated):  # the task credential itself is no access token
        parts.tokens.identity(env["FLYTE_CREDENTIALS_CLIENT_SECRET"])


async def test_failed_logins_are_limited_per_user_and_address(parts: AuthParts) -> None:
    server = parts.server
    assert server is not None
    await parts.store.create_user("carol", "a long password", {})
    for _ in range(server.settings.login_attempts_per_minute):
        with pytest.raises(Unauthenticated, match="wrong user name or password"):
            await server.login("carol", "bad", "10.0.0.1")
    with pytest.raises(Unauthenticated, match="too many"):
        await server.login("carol", "a long password", "10.0.0.1")
    assert (await server.login("carol", "a long password", "10.0.0.2")).subject == "carol"


async def test_rotated_keys_keep_old_tokens_valid_until_retired(parts: AuthParts, tmp_path: Path) -> None:
    tokens = parts.tokens
    assert tokens is not None
    old = tokens.issue(Identity("x", "client", {}), "access", 60)
    kid, jwk = new_key()
    await parts.store.add_key(kid, jwk, retire_all_but=1)
    await tokens.load(parts.store)
    assert tokens.keys.signing.kid == kid
    assert tokens.claims(old, "access")["sub"] == "x"
    kid2, jwk2 = new_key()
    await parts.store.add_key(kid2, jwk2, retire_all_but=1)  # the first key is retired now
    await tokens.load(parts.store)
    with pytest.raises(Unauthenticated):
        tokens.claims(old, "access")
    expired = tokens.issue(Identity("x", "client", {}), "access", -5)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.claims(expired, "access")


def test_mode_none_is_refused_on_a_public_address_unless_forced(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    settings.server.host = "0.0.0.0"
    db = Database(settings.database_url)
    with pytest.raises(AuthConfigError, match="refusing to serve without authentication"):
        build_auth(settings, db)
    settings.auth.allow_none_on_public_address = True
    assert not build_auth(settings, db).authenticator.enabled
    settings.server.host = "::1"
    settings.auth.allow_none_on_public_address = False
    assert not build_auth(settings, db).authenticator.enabled
