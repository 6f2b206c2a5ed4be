"""Settings read from the environment (12-factor), validated once at start-up.

Every knob has a default that works for `make serve` on a bare machine; production
values come from env vars (documented in the README's table, which mirrors this class).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_JWT_SECRET = "dev-insecure-jwt-secret-change-me-please"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TEST = "test"


def _split_csv(value: object) -> object:
    """Accept `a,b,c` as well as a JSON list for list settings: humans write the former."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


CsvList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    env: Environment = Environment.DEVELOPMENT
    app_name: str = "alawael"
    release: str | None = None

    # --- MongoDB -----------------------------------------------------------------------
    # Unset: an embedded SecantusDB server is started as a child process (see infra/db.py).
    mongodb_uri: str | None = None
    mongodb_db: str = "alawael"
    embedded_db_path: Path = Path("var/db")
    mongodb_timeout_ms: int = Field(default=3000, ge=100)
    # Set by `alawael serve` for its workers when it started the embedded server itself.
    embedded_db_running: bool = False

    # --- Redis ---------------------------------------------------------------------------
    # Unset: in-process cache, rate limits and events (one worker only).
    redis_url: str | None = None

    # --- Auth ----------------------------------------------------------------------------
    jwt_secret: SecretStr = SecretStr(DEFAULT_JWT_SECRET)
    jwt_algorithm: Literal["HS256", "RS256", "EdDSA"] = "HS256"
    jwt_private_key_file: Path | None = None
    jwt_public_key_file: Path | None = None
    jwt_issuer: str = "alawael"
    jwt_audience: str = "alawael-api"
    jwt_leeway_seconds: int = Field(default=10, ge=0, le=300)
    access_token_ttl_seconds: int = Field(default=900, ge=30)
    refresh_token_ttl_seconds: int = Field(default=86_400, ge=60)
    # How long a worker may trust a session lookup before re-reading it: the bound on how
    # late a revocation takes effect for an access token.
    session_check_ttl_seconds: float = Field(default=2.0, ge=0)
    login_max_failures: int = Field(default=5, ge=1)
    # Per client IP: higher than per account, since many people can share one NAT address.
    login_max_failures_per_ip: int = Field(default=50, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    # argon2id cost (RFC 9106 "low memory" profile by default); tests lower it for speed.
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_cost: int = Field(default=65_536, ge=8)  # KiB
    password_hash_parallelism: int = Field(default=4, ge=1)
    admin_email: str | None = None
    admin_password: SecretStr | None = None

    # --- Accounts: password reset, invitations (alawael.services.account_tokens) ----------
    # Links in mails point at the web app: <PUBLIC_APP_URL>/reset-password?token=...
    public_app_url: str = "http://localhost:3000"
    password_reset_ttl_seconds: int = Field(default=1800, ge=60)
    invitation_ttl_seconds: int = Field(default=7 * 86_400, ge=60)
    # Reset mails per e-mail address (`limits` notation); the per-IP part is RATE_LIMIT_AUTH.
    password_reset_per_email: str = "3/hour"

    # --- Mail (alawael.infra.mail) ---------------------------------------------------------
    # Unset SMTP_HOST: mails are written to the log instead (development).
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65_535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    mail_from: str = "AlAwael ERP <no-reply@localhost>"
    # Attempts per message (first try included), waiting MAIL_RETRY_BASE_SECONDS * 2^n between.
    mail_max_attempts: int = Field(default=5, ge=1, le=20)
    mail_retry_base_seconds: float = Field(default=2.0, ge=0)
    mail_queue_size: int = Field(default=1000, ge=1)

    # --- HTTP ----------------------------------------------------------------------------
    cors_origins: CsvList = []
    ws_allowed_origins: CsvList = []
    trusted_proxies: CsvList = []
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    gzip_min_bytes: int = Field(default=1024, ge=0)
    metrics_token: SecretStr | None = None

    # --- Cache (seconds) -----------------------------------------------------------------
    cache_enabled: bool = True
    cache_ttl_seconds: int = Field(default=30, ge=1)
    flags_cache_ttl_seconds: int = Field(default=300, ge=1)
    analytics_cache_ttl_seconds: int = Field(default=3600, ge=1)
    # After a Redis error the cache reads around Redis for this long (circuit breaker).
    cache_redis_retry_seconds: float = Field(default=1.0, ge=0)
    # Whole-operation result cache for order/catalogue queries (alawael.schema.operation_cache):
    # the dashboard's cost is resolving ~1,600 fields, which only a whole-result cache
    # removes. Same generation-based invalidation as the resolver cache.
    operation_cache: bool = True
    # The cold path's shortcuts: order pages load the customers and products their query
    # selects up front (alawael.resolvers.prefetch) and plain leaf fields skip graphql-core's
    # per-field machinery (alawael.schema.fast_execution). false: plain Strawberry execution
    # (the correctness guard, tests/test_fast_path_guard.py, compares both).
    graphql_fast_path: bool = True

    # --- Worker heap (alawael.infra.heap) -----------------------------------------------
    # Young-generation threshold of Python's cyclic garbage collector (Python's own: 700).
    # Higher: most per-request and per-event objects are freed by reference counting before
    # a collection sees them, so fewer survive into the old generation whose full
    # collections pause the worker (50-200 ms with 1,000 live subscriptions). 0: keep
    # Python's thresholds. The start-up heap is frozen out of collections either way.
    gc_gen0_threshold: int = Field(default=10_000, ge=0)

    # --- Rate limits (the `limits` library's notation) -----------------------------------
    rate_limit_enabled: bool = True
    rate_limit_default: str = "100/15 minutes"
    rate_limit_auth: str = "20/15 minutes"
    rate_limit_user: str = "1000/15 minutes"
    # WebSocket handshakes per client IP (each socket then pays per operation, as above).
    rate_limit_ws_connect: str = "30/minute"
    rate_limit_fail_open: bool = True

    # --- GraphQL limits ------------------------------------------------------------------
    graphql_max_depth: int = Field(default=10, ge=1)
    graphql_max_aliases: int = Field(default=30, ge=1)
    graphql_max_tokens: int = Field(default=5000, ge=10)
    graphql_max_cost: int = Field(default=50_000, ge=1)
    graphql_max_batch: int = Field(default=10, ge=1)
    graphql_safelist_only: bool = False
    # JSON: {"<sha256>": "<document>", ...} or ["<document>", ...]; loaded at start-up.
    graphql_safelist_file: Path | None = None
    graphql_ide: bool | None = None  # None: on in development, off in production

    # --- Subscriptions -------------------------------------------------------------------
    subscriptions_per_connection: int = Field(default=20, ge=1)
    subscriber_queue_size: int = Field(default=100, ge=1)
    # Redis pub/sub channels are "<prefix><channel>"; deployments sharing one Redis (or
    # parallel test runs) keep their events apart with different prefixes.
    events_channel_prefix: str = "alawael:events:"
    # graphql-ws "ka" messages and graphql-transport-ws server pings, in seconds.
    ws_keepalive_seconds: float = Field(default=15.0, gt=0)
    # salesTicker folds bursts of order events into at most one update per this many seconds.
    sales_ticker_min_interval_seconds: float = Field(default=1.0, ge=0)

    # --- Observability -------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "console"] | None = None  # None: console in dev, json in prod
    sentry_dsn: str | None = None
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    analytics_enabled: bool = True
    analytics_buffer_size: int = Field(default=10_000, ge=10)
    analytics_flush_seconds: float = Field(default=2.0, gt=0)
    # A flush starts early once this many records are queued (one insert_many each).
    analytics_batch_size: int = Field(default=500, ge=1)
    sentry_environment: str | None = None  # None: ENV
    jobs_enabled: bool = True
    # Leader lease for the one job runner across workers/instances (Redis SET NX PX).
    jobs_lock_ttl_seconds: float = Field(default=30.0, gt=0)
    jobs_cleanup_interval_seconds: float = Field(default=3600.0, gt=0)
    jobs_low_stock_interval_seconds: float = Field(default=300.0, gt=0)
    # TTL expiry through the indexes, in small batches (alawael.jobs.expire_ttl_documents);
    # mongod's own TTL monitor runs every 60 s too.
    jobs_ttl_interval_seconds: float = Field(default=60.0, gt=0)
    jobs_daily_summary_hour: int = Field(default=6, ge=0, le=23)  # UTC hour of the summary

    # --- Backups (alawael.infra.backup) --------------------------------------------------------
    # Scheduled logical backups by the job runner into BACKUP_DIR/<UTC id>/; 0 turns them off.
    backup_dir: Path = Path("var/backups")
    backup_interval_hours: float = Field(default=1.0, ge=0)
    backup_gzip: bool = True
    # Retention in copies: the newest backup of each of the last N hours / days / months.
    # The old runbook's "hourly for 7 days, daily for 30 days" is 168 / 30.
    backup_keep_hourly: int = Field(default=168, ge=0)
    backup_keep_daily: int = Field(default=30, ge=0)
    backup_keep_monthly: int = Field(default=12, ge=0)
    # The restore drill (latest backup into a scratch database, verified, dropped); 0: off.
    backup_drill_interval_hours: float = Field(default=720.0, ge=0)

    _split = field_validator(
        "cors_origins", "ws_allowed_origins", "trusted_proxies", mode="before"
    )(_split_csv)

    # `METRICS_TOKEN: ${METRICS_TOKEN:-}` in a compose file sets an empty string: that must
    # mean "unset", never "the token is the empty string" (which `Bearer ` would match).
    @field_validator(
        "release",
        "mongodb_uri",
        "redis_url",
        "jwt_private_key_file",
        "jwt_public_key_file",
        "admin_email",
        "admin_password",
        "metrics_token",
        "graphql_safelist_file",
        "graphql_ide",
        "log_format",
        "sentry_dsn",
        "sentry_environment",
        "smtp_host",
        "smtp_username",
        "smtp_password",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, SecretStr) and not value.get_secret_value().strip():
            return None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("mail_from")
    @classmethod
    def _mail_from_is_an_address(cls, value: str) -> str:
        from email.headerregistry import Address
        from email.utils import parseaddr

        _, addr = parseaddr(value)
        try:
            Address(addr_spec=addr)
        except (ValueError, IndexError) as exc:
            raise ValueError(f"MAIL_FROM is not an e-mail address: {value!r}") from exc
        if "@" not in addr:
            raise ValueError(f"MAIL_FROM is not an e-mail address: {value!r}")
        return value

    @field_validator("public_app_url")
    @classmethod
    def _app_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("PUBLIC_APP_URL must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _smtp_login_is_whole(self) -> Settings:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("SMTP_USERNAME and SMTP_PASSWORD must be set together")
        return self

    @model_validator(mode="after")
    def _production_is_safe(self) -> Settings:
        if self.jwt_algorithm == "HS256":
            secret = self.jwt_secret.get_secret_value()
            if self.is_production and (secret == DEFAULT_JWT_SECRET or len(secret) < 32):
                raise ValueError(
                    "JWT_SECRET must be set to a random value of at least 32 characters "
                    "in production; generate one with "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
                )
        else:
            missing = [
                name
                for name in ("jwt_private_key_file", "jwt_public_key_file")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(
                    f"JWT_ALGORITHM={self.jwt_algorithm} needs "
                    + " and ".join(m.upper() for m in missing)
                )
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def ide_enabled(self) -> bool:
        return (not self.is_production) if self.graphql_ide is None else self.graphql_ide

    @property
    def effective_log_format(self) -> str:
        if self.log_format is not None:
            return self.log_format
        return "json" if self.is_production else "console"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; keyword overrides win (tests, CLI flags)."""
    return Settings(**overrides)  # type: ignore[arg-type]
