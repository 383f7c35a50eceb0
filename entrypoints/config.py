"""Settings: environment variables, then ``.env``, then defaults.

Every variable is documented in ``.env.example``. In production the service
refuses to start while a secret is missing, empty or a known default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Literal

import msgspec
from dotenv import dotenv_values

from adapters.security.cipher import parse_master_keys
from adapters.security.passwords import OWASP_MIN_MEMORY_KIB, OWASP_MIN_TIME_COST
from application.common.files import FileSettings
from application.common.identity import IdentitySettings
from application.llm.settings import DEFAULT_BASE_URLS, LlmSettings, OperatorEndpoint
from domain.llm.models import Provider

DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me-0000"
DEV_FILE_SIGNING_KEY = "dev-only-insecure-file-signing-key-change-me"
# 32 zero-ish bytes, base64: refused in production like the other dev secrets.
DEV_LLM_MASTER_KEYS = "dev:ZGV2LW9ubHktaW5zZWN1cmUtbGxtLW1hc3Rlci1rZXk="
KNOWN_DEFAULT_SECRETS = frozenset(
    {
        "",
        DEV_JWT_SECRET,
        DEV_FILE_SIGNING_KEY,
        "change-me",
        "changeme",
        "secret",
        "your-secret-key",
        "your-secret-key-here",
        "supersecret",
        "jwt-secret",
    }
)


class ConfigurationError(Exception):
    pass


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    app_env: Literal["development", "test", "production"] = "development"
    app_name: str = "SynapScale"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    data_dir: str = ".data"

    database_url: str = ""
    redis_url: str = ""
    db_pool_size: int = 10
    db_statement_timeout_ms: int = 15_000
    readiness_timeout_seconds: float = 2.0
    max_request_body_bytes: int = 1_048_576
    trusted_proxies: str = ""

    jwt_secret: str = DEV_JWT_SECRET
    jwt_issuer: str = "synapscale"
    jwt_audience: str = "synapscale-api"
    access_token_ttl_seconds: int = 900
    session_ttl_days: int = 30
    session_cache_ttl_seconds: int = 30
    # API keys seen, per process; changes are announced, this only bounds a lost one.
    api_key_cache_seconds: float = 60.0

    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65_536
    argon2_parallelism: int = 4

    login_window_seconds: int = 900
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 50

    mail_backend: Literal["file", "smtp"] = "file"
    mail_from: str = "SynapScale <no-reply@synapscale.local>"
    mail_dir: str = ""
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout_seconds: float = 15.0

    file_storage_dir: str = ""
    file_max_upload_bytes: int = 1 << 30
    file_workspace_quota_bytes: int = 10 << 30
    file_allowed_extensions: str = (
        "png,jpg,jpeg,gif,webp,pdf,txt,csv,tsv,md,json,jsonl,yaml,yml,log,xml,html,htm,svg,"
        "docx,xlsx,pptx,zip,mp3,wav,mp4"
    )
    file_url_ttl_seconds: int = 900
    file_signing_key: str = DEV_FILE_SIGNING_KEY
    file_storage: Literal["local", "s3"] = "local"
    s3_bucket: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_prefix: str = ""

    # LLM gateway. Provider variables keep the SDKs' own names.
    openai_api_key: str = ""
    openai_base_url: str = ""
    anthropic_api_key: str = ""
    anthropic_base_url: str = ""
    google_api_key: str = ""
    gemini_base_url: str = ""
    ollama_base_url: str = ""
    vllm_base_url: str = ""
    vllm_api_key: str = ""
    llm_operator_keys: bool = True
    llm_allowed_private_hosts: str = ""
    # "id:base64-32-bytes" entries, comma-separated; the first seals new keys.
    llm_master_keys: str = DEV_LLM_MASTER_KEYS
    llm_http_transport: Literal["aiohttp", "httpx", "direct"] = "direct"
    llm_catalogue_file: str = ""
    llm_request_deadline_seconds: float = 120.0
    llm_attempt_timeout_seconds: float = 60.0
    llm_max_attempts_per_target: int = 2
    llm_breaker_failure_threshold: int = 5
    llm_breaker_cooldown_seconds: float = 30.0
    llm_default_max_output_tokens: int = 4096
    llm_default_requests_per_minute: int = 0
    llm_default_tokens_per_minute: int = 0
    llm_default_max_concurrent: int = 0
    llm_policy_cache_seconds: float = 2.0
    llm_usage_flush_seconds: float = 1.0

    outbox_poll_seconds: float = 0.5
    outbox_max_attempts: int = 12
    worker_concurrency: int = 10
    worker_metrics_port: int = 0

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def mail_path(self) -> Path:
        return Path(self.mail_dir or os.path.join(self.data_dir, "mail"))

    @property
    def file_storage_path(self) -> Path:
        return Path(self.file_storage_dir or os.path.join(self.data_dir, "files"))

    @property
    def files(self) -> FileSettings:
        return FileSettings(
            max_upload_bytes=self.file_max_upload_bytes,
            workspace_quota_bytes=self.file_workspace_quota_bytes,
            allowed_extensions=frozenset(
                e.strip().lower().lstrip(".")
                for e in self.file_allowed_extensions.split(",")
                if e.strip()
            ),
            url_ttl_seconds=self.file_url_ttl_seconds,
            public_url=self.base_url,
        )

    @property
    def llm(self) -> LlmSettings:
        operator: dict[Provider, OperatorEndpoint] = {}
        configured = [
            (Provider.OPENAI, self.openai_api_key, self.openai_base_url),
            (Provider.ANTHROPIC, self.anthropic_api_key, self.anthropic_base_url),
            (Provider.GEMINI, self.google_api_key, self.gemini_base_url),
            (Provider.OLLAMA, "ollama", self.ollama_base_url),
            (Provider.VLLM, self.vllm_api_key or "vllm", self.vllm_base_url),
        ]
        for provider, key, url in configured:
            keyed = bool(key) and (provider.needs_api_key or bool(url))
            if keyed and (url or provider in DEFAULT_BASE_URLS):
                operator[provider] = OperatorEndpoint(
                    provider=provider,
                    base_url=(url or DEFAULT_BASE_URLS[provider]).rstrip("/"),
                    api_key=key,
                )
        return LlmSettings(
            operator_endpoints=operator,
            operator_fallback=self.llm_operator_keys,
            allowed_private_hosts=frozenset(
                h.strip().lower() for h in self.llm_allowed_private_hosts.split(",") if h.strip()
            ),
            request_deadline_seconds=self.llm_request_deadline_seconds,
            attempt_timeout_seconds=self.llm_attempt_timeout_seconds,
            max_attempts_per_target=self.llm_max_attempts_per_target,
            breaker_failure_threshold=self.llm_breaker_failure_threshold,
            breaker_cooldown_seconds=self.llm_breaker_cooldown_seconds,
            default_max_output_tokens=self.llm_default_max_output_tokens,
            default_requests_per_minute=self.llm_default_requests_per_minute or None,
            default_tokens_per_minute=self.llm_default_tokens_per_minute or None,
            default_max_concurrent=self.llm_default_max_concurrent or None,
            policy_cache_seconds=self.llm_policy_cache_seconds,
        )

    @property
    def identity(self) -> IdentitySettings:
        return IdentitySettings(
            session_lifetime=timedelta(days=self.session_ttl_days),
            public_url=self.base_url,
            product_name=self.app_name,
        )

    def check(self) -> None:
        problems = []
        if (
            self.argon2_memory_kib < OWASP_MIN_MEMORY_KIB
            or self.argon2_time_cost < OWASP_MIN_TIME_COST
        ):
            problems.append(
                "ARGON2_* are below OWASP's minimum "
                f"(m={OWASP_MIN_MEMORY_KIB} KiB, t={OWASP_MIN_TIME_COST})"
            )
        if len(self.jwt_secret.encode()) < 32:
            problems.append("JWT_SECRET must be at least 32 bytes")
        if len(self.file_signing_key.encode()) < 32:
            problems.append("FILE_SIGNING_KEY must be at least 32 bytes")
        try:
            parse_master_keys(self.llm_master_keys)
        except ValueError as exc:
            problems.append(f"LLM_MASTER_KEYS: {exc}")
        if self.file_storage == "s3" and not self.s3_bucket.strip():
            problems.append("S3_BUCKET is required when FILE_STORAGE=s3")
        if self.is_production:
            if self.jwt_secret.strip().lower() in KNOWN_DEFAULT_SECRETS:
                problems.append("JWT_SECRET is missing, empty or a known default")
            if self.file_signing_key.strip().lower() in KNOWN_DEFAULT_SECRETS:
                problems.append("FILE_SIGNING_KEY is missing, empty or a known default")
            if self.llm_master_keys == DEV_LLM_MASTER_KEYS or not self.llm_master_keys.strip():
                problems.append("LLM_MASTER_KEYS is missing or the development default")
            if self.file_signing_key == self.jwt_secret:
                problems.append("FILE_SIGNING_KEY must differ from JWT_SECRET")
            if not self.database_url or not self.redis_url:
                problems.append("DATABASE_URL and REDIS_URL are required in production")
            if self.mail_backend == "smtp" and self.smtp_username and not self.smtp_password:
                problems.append("SMTP_PASSWORD is missing")
            if self.smtp_password.strip().lower() in KNOWN_DEFAULT_SECRETS - {""}:
                problems.append("SMTP_PASSWORD is a known default")
            if self.file_storage == "s3":
                if not self.s3_access_key_id.strip():
                    problems.append("S3_ACCESS_KEY_ID is missing")
                if self.s3_secret_access_key.strip().lower() in KNOWN_DEFAULT_SECRETS:
                    problems.append("S3_SECRET_ACCESS_KEY is missing, empty or a known default")
        if problems:
            raise ConfigurationError("Refusing to start: " + "; ".join(problems) + ".")


def load_settings(
    environ: Mapping[str, str] | None = None, *, env_file: str | Path | None = ".env"
) -> Settings:
    values: dict[str, str | None] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update(dotenv_values(env_file))
    values.update(os.environ if environ is None else environ)
    fields = set(Settings.__struct_fields__)
    # An empty value means "not set": copying .env.example as it is must work.
    raw = {k.lower(): v for k, v in values.items() if k.lower() in fields and v}
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigurationError(f"Invalid setting: {exc}") from None
    settings.check()
    return settings
