"""The operator's configuration of the gateway, as the application sees it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.llm.models import Provider

DEFAULT_BASE_URLS: Mapping[Provider, str] = {
    Provider.OPENAI: "https://api.openai.com/v1",
    Provider.ANTHROPIC: "https://api.anthropic.com",
    Provider.GEMINI: "https://generativelanguage.googleapis.com/v1beta/openai",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorEndpoint:
    """A provider configured by the operator (``OPENAI_API_KEY`` …). Trusted:
    its base URL may point anywhere, loopback included."""

    provider: Provider
    base_url: str
    api_key: str = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class LlmSettings:
    operator_endpoints: Mapping[Provider, OperatorEndpoint] = field(default_factory=dict)
    # Serve workspaces that have no credential of their own with the operator's keys.
    operator_fallback: bool = True
    # Hosts a stored credential's base URL may name even when they resolve to
    # a private or loopback address (a local Ollama).
    allowed_private_hosts: frozenset[str] = frozenset()
    request_deadline_seconds: float = 120.0  # all attempts of one call together
    attempt_timeout_seconds: float = 60.0  # one upstream call (per chunk when streaming)
    max_attempts_per_target: int = 2
    backoff_base_seconds: float = 0.2
    backoff_max_seconds: float = 5.0
    breaker_failure_threshold: int = 5
    breaker_cooldown_seconds: float = 30.0
    # Reserved against budgets when a request sets no max_tokens and the
    # catalogue knows no output limit for the model.
    default_max_output_tokens: int = 4096
    # Workspace defaults, used when a workspace has set no limits of its own (None: unlimited).
    default_requests_per_minute: int | None = None
    default_tokens_per_minute: int | None = None
    default_max_concurrent: int | None = None
    # How long budgets, limits, routes and credentials are cached per process.
    policy_cache_seconds: float = 2.0
