from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.config import (
    DEV_FILE_SIGNING_KEY,
    DEV_JWT_SECRET,
    DEV_LLM_MASTER_KEYS,
    ConfigurationError,
    load_settings,
)

STRONG = "Vq3x8WmZ0pL2rT6yK1nB5cD9fG4hJ7sA-strong-enough"
PRODUCTION = {
    "APP_ENV": "production",
    "FILE_SIGNING_KEY": "another-strong-key-for-signing-file-links-0123",
    "LLM_MASTER_KEYS": "k1:cHJvZHVjdGlvbi10ZXN0LW1hc3Rlci1rZXktMzJieXQ=",
    "DATABASE_URL": "postgresql://db/app",
    "REDIS_URL": "redis://cache:6379/0",
}


def test_development_starts_with_defaults() -> None:
    settings = load_settings({}, env_file=None)
    assert settings.app_env == "development"
    assert settings.port == 8000


@pytest.mark.parametrize("secret", ["", "   ", DEV_JWT_SECRET, "change-me", "secret", "short"])
def test_production_refuses_a_missing_empty_short_or_default_jwt_secret(secret: str) -> None:
    with pytest.raises(ConfigurationError, match="JWT_SECRET"):
        load_settings({**PRODUCTION, "JWT_SECRET": secret}, env_file=None)


def test_production_refuses_to_start_without_a_jwt_secret_at_all() -> None:
    with pytest.raises(ConfigurationError, match="JWT_SECRET"):
        load_settings(PRODUCTION, env_file=None)


def test_production_starts_with_a_strong_secret() -> None:
    settings = load_settings({**PRODUCTION, "JWT_SECRET": STRONG}, env_file=None)
    assert settings.is_production


def test_production_requires_external_database_and_redis() -> None:
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        load_settings({"APP_ENV": "production", "JWT_SECRET": STRONG}, env_file=None)


def test_production_refuses_smtp_login_without_a_password() -> None:
    env = {**PRODUCTION, "JWT_SECRET": STRONG, "MAIL_BACKEND": "smtp", "SMTP_USERNAME": "mailer"}
    with pytest.raises(ConfigurationError, match="SMTP_PASSWORD"):
        load_settings(env, env_file=None)


def test_argon2_below_owasp_minimum_is_refused_everywhere() -> None:
    with pytest.raises(ConfigurationError, match="ARGON2"):
        load_settings({"ARGON2_MEMORY_KIB": "4096"}, env_file=None)


def test_a_malformed_value_names_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="port"):
        load_settings({"PORT": "eighty"}, env_file=None)


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=9001\nAPP_NAME='From File'\nLOG_LEVEL=DEBUG # comment\n")
    settings = load_settings({"PORT": "9002"}, env_file=env_file)
    assert settings.port == 9002
    assert settings.app_name == "From File"
    assert settings.log_level == "DEBUG"


def test_the_example_env_file_loads_as_it_is() -> None:
    example = Path(__file__).resolve().parents[2] / ".env.example"
    settings = load_settings({}, env_file=example)
    assert settings.jwt_secret == DEV_JWT_SECRET  # empty means unset


@pytest.mark.parametrize("key", ["", DEV_FILE_SIGNING_KEY, "change-me"])
def test_production_refuses_a_missing_or_default_file_signing_key(key: str) -> None:
    env = {**PRODUCTION, "JWT_SECRET": STRONG, "FILE_SIGNING_KEY": key}
    with pytest.raises(ConfigurationError, match="FILE_SIGNING_KEY"):
        load_settings(env, env_file=None)


def test_production_refuses_one_key_for_tokens_and_file_links() -> None:
    env = {**PRODUCTION, "JWT_SECRET": STRONG, "FILE_SIGNING_KEY": STRONG}
    with pytest.raises(ConfigurationError, match="FILE_SIGNING_KEY must differ"):
        load_settings(env, env_file=None)


@pytest.mark.parametrize("keys", ["", DEV_LLM_MASTER_KEYS])
def test_production_refuses_a_missing_or_default_llm_master_key(keys: str) -> None:
    env = {**PRODUCTION, "JWT_SECRET": STRONG, "LLM_MASTER_KEYS": keys}
    with pytest.raises(ConfigurationError, match="LLM_MASTER_KEYS"):
        load_settings(env, env_file=None)


def test_malformed_llm_master_keys_are_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigurationError, match="LLM_MASTER_KEYS") as refused:
        load_settings({"LLM_MASTER_KEYS": "k1:not-base64-secret-material"}, env_file=None)
    assert "not-base64-secret-material" not in str(refused.value)
