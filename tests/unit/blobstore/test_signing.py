"""HMAC-signed URLs: exactly as signed and unexpired, or rejected; the key survives restarts."""

from __future__ import annotations

import hashlib
import stat
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from aerodrome.blobstore.signing import KEY_FILE, SignatureRejected, UrlSigner, load_signing_key, sign_blob_url
from aerodrome.blobstore.store import LocalStore
from aerodrome.settings import Settings


def parts(url: str) -> tuple[str, dict[str, str]]:
    split = urlsplit(url)
    return split.path.removeprefix("/blobs/"), dict(parse_qsl(split.query))


def test_a_signed_url_verifies_for_its_method_and_key() -> None:
    signer = UrlSigner(b"k" * 32, "http://127.0.0.1:8088/")
    md5 = hashlib.md5(b"x").digest()
    url = signer.sign("PUT", "p/d/uploads/r/f.tar.gz", int(time.time()) + 60, md5)
    assert url.startswith("http://127.0.0.1:8088/blobs/p/d/uploads/r/f.tar.gz?")
    key, query = parts(url)
    grant = signer.verify("PUT", key, query)
    assert grant.content_md5 == md5 and grant.key == key
    with pytest.raises(SignatureRejected):
        signer.verify("GET", key, query)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda k, q: (k + "x", q),
        lambda k, q: ("p/d/uploads/r/../../../x", q),
        lambda k, q: (k, {**q, "expires": str(int(q["expires"]) + 3600)}),
        lambda k, q: (k, {**q, "md5": "AAAAAAAAAAAAAAAAAAAAAA=="}),
        lambda k, q: (k, {key: v for key, v in q.items() if key != "md5"}),
        lambda k, q: (k, {**q, "signature": q["signature"][:-1] + ("0" if q["signature"][-1] != "0" else "1")}),
        lambda k, q: (k, {key: v for key, v in q.items() if key != "signature"}),
        lambda k, q: (k, {**q, "expires": "soon"}),
        lambda k, q: (k, {}),
    ],
)
def test_any_change_is_rejected(tamper) -> None:  # type: ignore[no-untyped-def]
    signer = UrlSigner(b"secret", "http://h")
    key, query = parts(signer.sign("PUT", "p/d/f", int(time.time()) + 60, hashlib.md5(b"x").digest()))
    with pytest.raises(SignatureRejected):
        signer.verify("PUT", *tamper(key, query))


def test_another_key_and_expiry_are_rejected() -> None:
    key, query = parts(UrlSigner(b"one", "http://h").sign("GET", "p/d/f", int(time.time()) + 60))
    with pytest.raises(SignatureRejected, match="does not match"):
        UrlSigner(b"two", "http://h").verify("GET", key, query)
    signer = UrlSigner(b"one", "http://h")
    key, query = parts(signer.sign("GET", "p/d/f", int(time.time()) - 1))
    with pytest.raises(SignatureRejected, match="expired"):
        signer.verify("GET", key, query)


def test_keys_with_odd_characters_survive_quoting() -> None:
    signer = UrlSigner(b"k", "http://h")
    url = signer.sign("GET", "p/d/uploads/r/a file?#%.txt", int(time.time()) + 60)
    assert " " not in url and "#" not in url.split("?", 1)[0]
    from urllib.parse import unquote

    key, query = parts(url)
    signer.verify("GET", unquote(key), query)


def test_the_random_key_is_created_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    first = load_signing_key(settings)
    assert len(first) == 64 and load_signing_key(settings) == first
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    settings.blob.signing_key = "configured"
    assert load_signing_key(settings) == b"configured"


async def test_sign_blob_url_for_the_local_store(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    store = LocalStore(tmp_path / "blobs")
    signer = UrlSigner.from_settings(settings)
    signed = await sign_blob_url(store, signer, store.url("p/d/x"), "GET", 120)
    assert signed.url.startswith(f"{settings.http_base_url}/blobs/p/d/x?") and signed.headers == {}
    assert 110 < signed.expires_at.timestamp() - time.time() <= 120
    key, query = parts(signed.url)
    signer.verify("GET", key, query)
