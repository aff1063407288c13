"""What the server tells the outside world: notification e-mails and the event stream."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SUBJECT = 'Notice: Execution "{{ name }}" has {{ phase }} in "{{ domain }}".'


DEFAULT_BODY = 'Execution "{{ name }}" has {{ phase }} in "{{ domain }}". Details: {{ console_url }}.{{ error }}'


class NotificationSettings(BaseSettings):
    """Where notifications on terminal workflow phases go (e-mail through SMTP, Slack and PagerDuty hooks)."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_NOTIFICATIONS_", extra="forbid")

    smtp_host: str = Field("", description="SMTP server; empty means e-mail notifications are recorded as failed.")
    smtp_port: int = Field(25, description="SMTP port (587 for STARTTLS, 465 for TLS are usual).")
    smtp_starttls: bool = Field(False, description="Upgrade the connection with STARTTLS after connecting.")
    smtp_tls: bool = Field(False, description="Connect with implicit TLS (SMTPS).")
    smtp_user: str = Field("", description="SMTP user name; empty means no authentication.")
    smtp_password: str = Field("", description="SMTP password.")
    smtp_timeout_seconds: float = Field(10.0, description="Connect and send timeout of one SMTP delivery.")
    sender: str = Field("aerodrome@localhost", description="From address of notification e-mails.")
    subject: str = Field(
        DEFAULT_SUBJECT,
        description="Subject template (Jinja2; placeholders project, domain, name, phase, error, console_url, "
        "workflow.project|domain|name|version, launch_plan.project|domain|name|version).",
    )
    body: str = Field(DEFAULT_BODY, description="Body template, with the same placeholders as the subject.")
    slack_webhook_url: str = Field(
        "", description="Slack incoming-webhook URL that Slack notifications also post to (besides their e-mail)."
    )
    pagerduty_url: str = Field(
        "",
        description="PagerDuty Events API v2 URL, e.g. https://events.pagerduty.com/v2/enqueue.",
    )
    pagerduty_routing_key: str = Field("", description="Integration (routing) key sent with PagerDuty events.")


class EventSettings(BaseSettings):
    """The event stream (CloudEvents to NATS JetStream and webhooks) and the outbox dispatcher that delivers it."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_EVENTS_", extra="forbid")

    nats_url: str = Field("", description="NATS server (nats://host:4222); empty means no NATS sink.")
    nats_stream: str = Field("AERODROME_EVENTS", description="JetStream stream, created if missing.")
    nats_subject_prefix: str = Field(
        "aerodrome.events", description="Events go to <prefix>.<project>.<domain>.<workflow|node|task>."
    )
    webhook_urls: list[str] = Field(default_factory=list, description="HTTP endpoints every event is POSTed to.")
    webhook_secret: str = Field(
        "", description="Shared secret of the X-Aerodrome-Signature header (sha256=HMAC-SHA256 of the body)."
    )
    kinds: list[str] = Field(
        default_factory=lambda: ["workflow", "node", "task"], description="Which event kinds are published."
    )
    source: str = Field("aerodrome", description="CloudEvent source attribute prefix.")
    max_attempts: int = Field(
        300,
        ge=1,
        description="Deliveries tried before a message is recorded as failed; with the default backoff, 300 attempts "
        "span about a day, so a sink that is down for hours loses nothing.",
    )
    backoff_initial_seconds: float = Field(0.5, gt=0, description="Delay after the first failed delivery.")
    backoff_max_seconds: float = Field(300.0, gt=0, description="Longest delay between two delivery attempts.")
    timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one webhook or NATS delivery.")
    claim_seconds: float = Field(
        60.0,
        gt=0,
        description="How long a dispatcher owns claimed rows before another process may take them over; keep it "
        "well above timeout_seconds + 5 (a round stops starting deliveries that could outlast the claim).",
    )
    batch_size: int = Field(200, ge=1, description="Outbox rows claimed per dispatcher round.")
    batch_wait_seconds: float = Field(
        0.02, ge=0, description="Pause after a wake-up so that one dispatcher round carries a burst of events."
    )
    poll_seconds: float = Field(1.0, gt=0, description="Outbox poll interval when no local event wakes the dispatcher.")
    retention_hours: float = Field(
        24.0, ge=0, description="Delivered outbox rows are kept this long (0 = delete at once)."
    )
    stats_log_seconds: float = Field(60.0, gt=0, description="Interval of the outbox depth log line while rows wait.")
