"""The Prometheus series of one aerodrome process, in a registry of its own.

Call counts and latencies are fed by the transports as calls finish (``observe_call``); committed
events by an EventManager watcher (``on_event``); the state of the database (executions and task
attempts by phase, outbox depth, leases per process) is read when /metrics is scraped, by
``observability.sampler``. A registry per process (not the global default) keeps two servers in one
test process apart.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from aerodrome.managers.events import Recorded

# From 1 ms (a cached Get) to 30 s (a big registration on a busy SQLite file).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Every series aerodrome exports; one instance per server."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.rpc_seconds = Histogram(
            "aerodrome_rpc_duration_seconds",
            "Time to serve one call, by transport (grpc, http) and method (RPC name or HTTP route).",
            ["transport", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rpc_errors = Counter(
            "aerodrome_rpc_errors_total",
            "Calls that failed, by transport, method and code (gRPC status name, or HTTP status >= 400).",
            ["transport", "method", "code"],
            registry=r,
        )
        self.events = Counter(
            "aerodrome_events_total",
            "Committed execution events by kind (workflow, node, task) and the phase they reported.",
            ["kind", "phase"],
            registry=r,
        )
        self.loop_lag = Gauge(
            "aerodrome_event_loop_lag_last_seconds", "How late the last loop-lag probe woke up.", registry=r
        )
        self.loop_lag_seconds = Histogram(
            "aerodrome_event_loop_lag_seconds",
            "Lateness of the loop-lag probes, seconds.",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.executions = Gauge(
            "aerodrome_executions", "Stored executions by phase (scrape time).", ["phase"], registry=r
        )
        self.task_attempts = Gauge(
            "aerodrome_task_attempts", "Stored task attempts by phase (scrape time).", ["phase"], registry=r
        )
        self.task_processes = Gauge(
            "aerodrome_task_processes_running", "Task processes this server runs now.", registry=r
        )
        self.pool_checked_out = Gauge(
            "aerodrome_db_pool_checked_out",
            "Database connections in use, by engine (read, write).",
            ["engine"],
            registry=r,
        )
        self.pool_size = Gauge("aerodrome_db_pool_size", "Database pool size, by engine.", ["engine"], registry=r)
        self.outbox_pending = Gauge("aerodrome_outbox_pending", "Outbox messages waiting for delivery.", registry=r)
        self.outbox_failed = Gauge("aerodrome_outbox_failed", "Outbox messages given up on.", registry=r)
        self.outbox_oldest_age = Gauge(
            "aerodrome_outbox_oldest_pending_age_seconds",
            "Age of the oldest waiting outbox message (0: none).",
            registry=r,
        )
        self.leases = Gauge(
            "aerodrome_leases", "Unexpired execution leases held, by process (lease owner).", ["owner"], registry=r
        )
        self.sample_errors = Counter(
            "aerodrome_metrics_sample_errors_total", "Scrapes whose database sample failed (see the log).", registry=r
        )

    def observe_call(self, transport: str, method: str, seconds: float, error_code: str | None) -> None:
        """One finished call; ``error_code`` is None when it succeeded."""
        self.rpc_seconds.labels(transport, method).observe(seconds)
        if error_code is not None:
            self.rpc_errors.labels(transport, method, error_code).inc()

    def on_event(self, recorded: Recorded) -> None:
        """EventManager watcher: runs after each event's transaction committed."""
        self.events.labels(recorded.kind, recorded.phase).inc()
