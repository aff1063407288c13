"""How executions are driven: the engine and its launchers, the leases that share executions among
processes, and the scheduler."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EngineSettings(BaseSettings):
    """How executions run."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_ENGINE_", extra="forbid")

    python: str = Field(
        "", description="Python interpreter that runs tasks (it needs flytekit); empty means the server's own."
    )
    work_dir: str = Field("", description="Scratch directories of task attempts; empty means <home>/work.")
    keep_workdirs: bool = Field(False, description="Keep the scratch directory of succeeded attempts too.")
    kept_log_bytes: int = Field(
        16 * 1024 * 1024,
        ge=0,
        description=(
            "Largest task log kept in the blob store per attempt: a longer one keeps its first quarter and its "
            "end, with a line saying how much was left out; 0 keeps every byte."
        ),
    )
    warm_processes: bool = Field(
        True,
        description=(
            "Run tasks as forks of a process that has already imported flytekit (milliseconds instead of a "
            "second per task); false starts a fresh interpreter for every attempt."
        ),
    )
    code_processes: int = Field(
        4,
        ge=0,
        description=(
            "With warm processes, warm processes per code version kept at once (each has imported one "
            "fast-registered task module, so its attempts do not import it again; least recently used idle "
            "ones are stopped first); 0 forks every attempt from the flytekit-only warm process."
        ),
    )
    max_processes: int = Field(
        0,
        ge=0,
        description=(
            "Task processes running at once on this machine, across all executions (each one imports flytekit, "
            "so more than a few per core only thrash); 0 means twice the number of CPU cores."
        ),
    )
    launcher: Literal["local", "ray"] = Field(
        "local",
        description="Where task attempts run unless their provider or task type says otherwise: 'local' "
        "(processes of this server) or 'ray' (the cluster at ray_address).",
    )
    ray_address: str = Field(
        "",
        description="GCS address (host:port) of an existing Ray cluster; when set, flytekit Ray tasks run there as "
        "Ray jobs and tasks of providers with device ray run there. Empty means no default cluster.",
    )
    ray_max_attempts: int = Field(
        256, ge=1, description="Attempts (and map items) this server keeps submitted to Ray clusters at once."
    )
    ray_scratch_dir: str = Field(
        "",
        description="Directory on the Ray nodes under which each attempt gets its scratch directory; empty means "
        "the node's temporary directory.",
    )
    ray_connect_seconds: float = Field(
        60.0, gt=0, description="How long connecting to a Ray cluster may take before its attempts fail."
    )
    map_batch_size: int = Field(
        100,
        ge=0,
        description=(
            "With warm processes, map items (pyflyte-map-execute) run up to this many one after another in one "
            "forked process (each item keeps its own attempt, directory, log and retries; a crash or timeout "
            "fails only that item); 0 forks one process per item. On Ray, the items of one Ray task (0: one Ray "
            "task per item)."
        ),
    )


class LeaseSettings(BaseSettings):
    """How several aerodrome processes share one database's executions (each is leased to one engine)."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_LEASES_", extra="forbid")

    ttl_seconds: float = Field(
        15.0,
        gt=0,
        description=(
            "How long a lease lasts without a heartbeat: a process that dies loses its executions to the others "
            "after at most this long (database time)."
        ),
    )
    heartbeat_seconds: float = Field(
        0.0, ge=0, description="How often leases are renewed; 0 means a third of ttl_seconds."
    )
    claim_seconds: float = Field(
        1.0, gt=0, description="How often a process looks for executions nobody drives (new ones or expired leases)."
    )
    max_executions: int = Field(
        200,
        ge=1,
        description=(
            "Executions this process drives at once; it claims more only below this and while a task process "
            "slot (engine.max_processes) is free, so several processes share a burst."
        ),
    )

    @property
    def heartbeat(self) -> float:
        return self.heartbeat_seconds or self.ttl_seconds / 3


class SchedulerSettings(BaseSettings):
    """The scheduler that fires ACTIVE launch plans with a cron or fixed-rate schedule."""

    model_config = SettingsConfigDict(env_prefix="AERODROME_SCHEDULER_", extra="forbid")

    enabled: bool = Field(True, description="Run the scheduler in this process (every process may run one).")
    timezone: str = Field("UTC", description="IANA time zone that cron expressions are read in (e.g. Europe/Paris).")
    poll_interval_seconds: float = Field(
        2.0,
        gt=0,
        description=(
            "Longest sleep between looks at the database: how soon another process's activation or "
            "deactivation is seen (this process's own take effect at once)."
        ),
    )
    catch_up: Literal["all", "latest", "none"] = Field(
        "all",
        description=(
            "Fires missed while no scheduler ran: all (up to catch_up_cap, the latest ones), latest (only the "
            "last), none (skip them). A launch plan's `aerodrome/catch-up` annotation overrides it."
        ),
    )
    catch_up_cap: int = Field(100, ge=1, description="Most missed fires run per schedule under `all`.")
    concurrent_fires: int = Field(
        8, ge=1, description="Schedules fired at once by this process (each holds up to two database connections)."
    )
    clock_offset_seconds: float = Field(
        0.0, description="For tests only: seconds added to the scheduler's clock (simulates downtime)."
    )
