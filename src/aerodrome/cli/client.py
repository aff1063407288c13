"""The command line's HTTP client for aerodrome's JSON API (stdlib only), and the option that points it."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
TIMEOUT_SECONDS = 120


def url_option(func: F) -> F:
    """``--url``: the server's HTTP address (``AERODROME_URL``, default http://127.0.0.1:8088)."""
    return click.option(
        "--url",
        envvar="AERODROME_URL",
        default="http://127.0.0.1:8088",
        show_default=True,
        help="HTTP address of the aerodrome server.",
    )(func)


def call(url: str, method: str, path: str, *, query: dict[str, str] | None = None, body: Any = None) -> Any:
    """Call the API and return the envelope's ``data``; a failure becomes a ClickException with the message."""
    params = urllib.parse.urlencode({k: v for k, v in (query or {}).items() if v})
    target = f"{url.rstrip('/')}{path}" + (f"?{params}" if params else "")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(target, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raw = exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise click.ClickException(f"cannot reach aerodrome at {url}: {getattr(exc, 'reason', exc)}") from None
    try:
        envelope = json.loads(raw)
    except json.JSONDecodeError:
        raise click.ClickException(f"{method} {path}: the server answered something other than JSON") from None
    if not isinstance(envelope, dict) or envelope.get("code") != 0:
        message = envelope.get("message") if isinstance(envelope, dict) else envelope
        code = envelope.get("code") if isinstance(envelope, dict) else "?"
        raise click.ClickException(f"{message} (code {code})")
    return envelope.get("data")


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True))
