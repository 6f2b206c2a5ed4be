from __future__ import annotations

import pytest
from pydantic import ValidationError

from alawael.config import DEFAULT_JWT_SECRET, Settings


def test_defaults_work_for_development() -> None:
    settings = Settings()
    assert settings.mongodb_uri is None
    assert settings.cache_ttl_seconds == 30
    assert settings.flags_cache_ttl_seconds == 300
    assert settings.analytics_cache_ttl_seconds == 3600
    assert settings.ide_enabled


def test_production_refuses_the_default_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(env="production", jwt_secret=DEFAULT_JWT_SECRET)
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(env="production", jwt_secret="short")
    ok = Settings(env="production", jwt_secret="x" * 40)
    assert not ok.ide_enabled
    assert ok.effective_log_format == "json"


def test_lists_accept_comma_separated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings().cors_origins == ["https://a.example", "https://b.example"]


def test_asymmetric_algorithms_need_keys() -> None:
    with pytest.raises(ValidationError, match="JWT_PRIVATE_KEY_FILE"):
        Settings(jwt_algorithm="RS256")


def test_bad_values_are_rejected_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_TTL_SECONDS", "-5")
    with pytest.raises(ValidationError, match="cache_ttl_seconds"):
        Settings()
