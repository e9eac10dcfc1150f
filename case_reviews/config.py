"""One settings object for the whole application (environment prefix ``REVIEWS_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Application settings, read from ``REVIEWS_*`` environment variables or ``.env``."""

    model_config = SettingsConfigDict(env_prefix="REVIEWS_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/reviews.db",
        description="SQLAlchemy URL of the case store (SQLite by default, PostgreSQL in production).",
    )
    board_name: str = Field(
        default="Northbridge Safeguarding Children Partnership",
        description="Name of the board used when no board directory has been loaded.",
    )
    timezone: str = Field(default="Europe/London", description="The board's time zone.")
    clock: str = Field(
        default="system",
        description="'system' for the wall clock, or an ISO date/time to freeze the clock there.",
    )
    rules_dir: Path | None = Field(
        default=None,
        description="Directory of the board's own rule packs (YAML), applied over the built-ins.",
    )
    operator: str = Field(
        default="business manager",
        description="Who is recorded in the audit trail for CLI actions.",
    )
    mail_from: str = Field(
        default="case-reviews@board.example", description="From address of outgoing mail."
    )
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server host.")
    smtp_port: int = Field(default=8025, description="SMTP server port.")
    smtp_secure: bool = Field(default=False, description="Use TLS (mailtos://) for SMTP.")
    smtp_user: str | None = Field(default=None, description="SMTP user, if the server needs one.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    ui_url: str = Field(
        default="http://127.0.0.1:4200",
        description="Base URL of the Prefect UI, used in links to runs awaiting a decision.",
    )
    portal_url: str = Field(
        default="http://127.0.0.1:8800", description="Base URL of the agency portal."
    )
    portal_secret: SecretStr = Field(
        default=SecretStr("change-me-in-production"),
        description="Key that signs agency portal links.",
    )
    mail_dir: Path = Field(default=Path("var/mail"), description="Where the demo mail catcher writes.")

    @field_validator("clock")
    @classmethod
    def _clock_is_system_or_iso(cls, value: str) -> str:
        if value != "system":
            from case_reviews.clock import parse_fixed_clock

            parse_fixed_clock(value)  # raises ValueError naming what is wrong
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
