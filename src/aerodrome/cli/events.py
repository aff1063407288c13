"""``aerodrome events tail`` (the event stream, live) and ``aerodrome notifications test`` (one test e-mail).

``events tail`` reads the NATS stream when ``events.nats_url`` is configured (or ``--source nats``), else the
database's event log — the same events the outbox publishes, so it works without any broker.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from aerodrome.cli.options import build_settings, settings_options
from aerodrome.settings import Settings

KINDS = ("workflow", "node", "task")


def _line(kind: str, execution: str, node: str, phase: str, at: str, ident: str) -> str:
    where = f"{execution}/{node}" if node else execution
    return f"{at}  {kind:<8} {phase:<16} {where}  {ident}"


async def _tail_db(
    settings: Settings, project: str, kinds: tuple[str, ...], replay: bool, limit: int, follow: bool
) -> None:
    from aerodrome.db.engine import Database

    db = Database(settings.database_url)
    shown = 0
    try:
        async with db.transaction() as uow:
            last = 0 if replay else await uow.events.last_id()
        while not limit or shown < limit:
            async with db.transaction() as uow:
                rows = await uow.events.after(last, project=project, kinds=kinds)
            for row in rows:
                last = row.id
                execution = f"{row.execution_project}/{row.execution_domain}/{row.execution_name}"
                node = f"{row.node_id}/{row.retry_attempt}" if row.kind == "task" else row.node_id
                click.echo(_line(row.kind, execution, node, row.phase, row.occurred_at.isoformat(), f"#{row.id}"))
                shown += 1
                if limit and shown >= limit:
                    return
            if not rows:
                if not follow:
                    return
                await asyncio.sleep(0.5)
    finally:
        await db.dispose()


async def _tail_nats(
    settings: Settings, project: str, kinds: tuple[str, ...], replay: bool, limit: int, follow: bool, raw: bool
) -> None:
    import nats
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import DeliverPolicy

    from aerodrome.notifications.nats import token

    ev = settings.events
    client = await nats.connect(ev.nats_url)
    try:
        js = client.jetstream()
        kind = kinds[0] if len(kinds) == 1 else "*"
        target = ".".join([ev.nats_subject_prefix, token(project) if project else "*", "*", kind])
        policy = DeliverPolicy.ALL if replay else DeliverPolicy.NEW
        sub = await js.subscribe(target, stream=ev.nats_stream, ordered_consumer=True, deliver_policy=policy)
        shown = 0
        while True:
            try:
                msg = await sub.next_msg(timeout=1.0)
            except (NatsTimeout, TimeoutError):
                if follow:
                    continue
                return
            event: dict[str, Any] = json.loads(msg.data)
            kind = msg.subject.rsplit(".", 1)[-1]
            if kinds and kind not in kinds:
                continue
            if raw:
                click.echo(json.dumps(event))
            else:
                click.echo(
                    _line(kind, event["subject"], "", event.get("executionphase", ""), event["time"], event["id"])
                )
            shown += 1
            if limit and shown >= limit:
                return
    finally:
        await client.close()


@click.group()
def events() -> None:
    """The event stream: every workflow, node and task execution event."""


@events.command()
@settings_options
@click.option("--project", default="", help="Only events of this project.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS), help="Only these kinds (repeatable).")
@click.option("--source", type=click.Choice(["auto", "nats", "db"]), default="auto", show_default=True)
@click.option("--from-start", is_flag=True, help="Replay stored events first instead of only new ones.")
@click.option("--limit", type=int, default=0, help="Stop after this many events (0 = run until interrupted).")
@click.option("--follow/--no-follow", default=True, help="Keep waiting for new events (--no-follow: stop when idle).")
@click.option("--json", "raw", is_flag=True, help="Print whole CloudEvents (NATS source).")
def tail(
    project: str,
    kinds: tuple[str, ...],
    source: str,
    from_start: bool,
    limit: int,
    follow: bool,
    raw: bool,
    **kwargs: Any,
) -> None:
    """Print events as they happen, from NATS when configured, else from the database's event log."""
    settings = build_settings(**kwargs)
    use_nats = source == "nats" or (source == "auto" and bool(settings.events.nats_url))
    if use_nats and not settings.events.nats_url:
        raise click.UsageError("--source nats needs AERODROME_EVENTS_NATS_URL (or events.nats_url in the config)")
    try:
        if use_nats:
            asyncio.run(_tail_nats(settings, project, kinds, from_start, limit, follow, raw))
        else:
            asyncio.run(_tail_db(settings, project, kinds, from_start, limit, follow))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        raise click.ClickException(f"cannot read the event stream: {exc}") from None


@click.group()
def notifications() -> None:
    """Notification delivery."""


@notifications.command("test")
@settings_options
@click.option("--to", "to", required=True, help="Recipient of the test e-mail.")
def send_test(to: str, **kwargs: Any) -> None:
    """Send one test e-mail with the configured SMTP settings."""
    from aerodrome.notifications.email import EmailSender, message
    from aerodrome.notifications.sinks import PermanentError

    settings = build_settings(**kwargs)
    nt = settings.notifications
    mail = message(
        nt.sender,
        [to],
        "aerodrome test notification",
        f"This is a test e-mail from aerodrome at {settings.http_base_url}.\n"
        f"Notifications on terminal phases are sent from {nt.sender} through {nt.smtp_host}:{nt.smtp_port}.\n",
    )
    try:
        asyncio.run(EmailSender(nt).send(mail))
    except PermanentError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # any SMTP or network failure is reported as such
        raise click.ClickException(
            f"sending to {to} through {nt.smtp_host}:{nt.smtp_port} failed: {type(exc).__name__}: {exc}"
        ) from None
    click.echo(f"sent a test e-mail to {to} through {nt.smtp_host}:{nt.smtp_port}")
