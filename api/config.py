"""Service settings from the environment (prefix ``VAXLINK_``), with the matching settings nested."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from matcher.settings import MatchSettings

DEFAULT_DATABASE_URL = "sqlite:///./var/vaxlink.db"


class Settings(BaseSettings):
    """Everything the HTTP service needs; every field can be set as ``VAXLINK_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="VAXLINK_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db",
    )
    max_upload_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1024, description="largest accepted upload (413 above)"
    )
    duplicate_wait_seconds: float = Field(
        default=600.0,
        ge=0,
        description="how long an upload waits for the same file being applied by another request",
    )
    upload_dir: Path | None = Field(
        default=None, description="folder for upload temp files (system temp dir when unset)"
    )
    matching: MatchSettings = Field(
        default_factory=MatchSettings, description="blocking, thresholds and training knobs"
    )
    migrate_on_start: bool = Field(
        default=True, description="apply the Alembic migrations when the app starts"
    )
    environment: str = Field(default="development", description="development | production")
    sql_echo: bool = Field(default=False, description="log every SQL statement (development)")
    session_secret: SecretStr | None = Field(
        default=None,
        description="key signing the auditor workbench session cookie (random per process if unset)",
    )
    session_hours: float = Field(
        default=8.0, gt=0, le=24, description="lifetime of an auditor workbench session"
    )
    session_cookie_secure: bool = Field(
        default=True, description="send the workbench cookie over HTTPS only (localhost excepted)"
    )
    login_max_failures: int = Field(
        default=10, ge=1, description="failed workbench sign-ins per client before a pause (429)"
    )
    login_window_seconds: float = Field(
        default=600.0, gt=0, description="window in which failed workbench sign-ins are counted"
    )

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Self:
        if self.environment == "production" and self.database_url.startswith("sqlite"):
            raise ValueError("production must not run on SQLite: set VAXLINK_DATABASE_URL")
        if self.environment == "production" and self.sql_echo:
            raise ValueError("sql_echo would log personal data: disable it in production")
        if self.environment == "production" and self.session_secret is None:
            raise ValueError("production needs VAXLINK_SESSION_SECRET (workbench sessions)")
        if self.environment == "production" and not self.session_cookie_secure:
            raise ValueError("production must send the session cookie over HTTPS only")
        return self

    @property
    def is_sqlite(self) -> bool:
        """True when the database is a SQLite file."""
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests override this dependency)."""
    return Settings()
