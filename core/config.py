"""One settings object for the whole application (environment prefix ``REVIEWS_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.clock import parse_fixed_clock
from core.secrets import DEFAULT_PORTAL_SECRET, read_stored_secret


class MailSettingError(ValueError):
    """A mail setting is malformed; the message names the setting."""


def check_mail_url(setting: str, url: str, *, with_apprise: bool = True) -> None:
    """Refuse, naming ``setting``, a URL Apprise cannot use for email.

    Without ``with_apprise`` only the form is checked (scheme and host): reading the settings
    does that, so every command refuses a malformed URL at once without importing Apprise
    (a second of start-up); the mailer, made by the commands that send, asks Apprise too."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in {"mailto", "mailtos"}:
        raise MailSettingError(f"{setting}: expected a mailto:// or mailtos:// URL")
    if not urlsplit(url).hostname:
        raise MailSettingError(f"{setting}: the URL names no mail server")
    if not with_apprise:
        return
    import apprise

    if not apprise.Apprise().add(url):
        raise MailSettingError(f"{setting}: Apprise cannot use this URL")


class Settings(BaseSettings):
    """Application settings, read from ``REVIEWS_*`` environment variables or ``.env``."""

    model_config = SettingsConfigDict(
        env_prefix="REVIEWS_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    database_url: str = Field(
        default="sqlite:///var/reviews.db",
        description="SQLAlchemy URL of the case store (SQLite default, PostgreSQL in production).",
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
    reminder_policy: Path | None = Field(
        default=None,
        description="The board's reminder policy (YAML), applied key by key over the default.",
    )
    operator: str = Field(
        default="business manager",
        description="Who is recorded in the audit trail for CLI actions.",
    )
    mail_url: SecretStr = Field(
        default=SecretStr("mailto://127.0.0.1:8025?from=case-reviews@board.example&mode=insecure"),
        description="Apprise mailto:// or mailtos:// URL of the SMTP server; recipients are added.",
    )
    ui_url: str = Field(
        default="http://127.0.0.1:4200",
        description="Base URL of the Prefect UI, used in links to runs awaiting a decision.",
    )
    portal_url: str = Field(
        default="http://127.0.0.1:8800", description="Base URL of the agency portal."
    )
    portal_secret: SecretStr = Field(
        default=SecretStr(DEFAULT_PORTAL_SECRET),
        description="Key that signs agency portal links; left at the default, the one the "
        "demo keeps in portal_secret_file is read (nothing signs with the default itself).",
    )
    portal_secret_file: Path = Field(
        default=Path("var/portal-secret"),
        description="Where the demo keeps the portal signing key it drew; every process reads "
        "it when REVIEWS_PORTAL_SECRET is not set.",
    )
    themes_file: Path | None = Field(
        default=None,
        description="The board's list of learning themes (YAML list); the default list if unset.",
    )
    mail_dir: Path = Field(
        default=Path("var/mail"), description="Where the demo mail catcher writes."
    )
    documents_dir: Path = Field(
        default=Path("var/documents"),
        description="Root of the review documents' files, each stored once under its SHA-256.",
    )
    document_max_bytes: int = Field(
        default=25 * 2**20,
        gt=0,
        description="Largest document file accepted (bytes); a larger one is refused.",
    )

    prefect_auth_file: Path = Field(
        default=Path("var/prefect-auth-string"),
        description="Where the demo keeps the Prefect API auth string it drew; the CLI reads "
        "it when PREFECT_API_AUTH_STRING is not set.",
    )
    # Each executing run is a ~160 MB process: a burst of starts queues instead.
    runner_limit: int = Field(
        default=4, ge=1, description="Most runs one runner executes at once; more wait, scheduled."
    )
    runner_start: Literal["forkserver", "spawn"] = Field(
        default="forkserver",
        description="How the served runner starts each flow-run process: forked from a server "
        "process that imported the flows once (fast), or each in a fresh interpreter (spawn).",
    )
    prefect_api_url: str = Field(
        default="http://127.0.0.1:4200/api",
        description="The board's Prefect server API, which every CLI command that talks to "
        "Prefect uses (an explicit PREFECT_API_URL wins); default: the one 'reviews up' starts.",
    )
    workspace_url: str = Field(
        default="http://127.0.0.1:8900", description="Base URL of the board's workspace."
    )
    workspace_secret: SecretStr = Field(
        default=SecretStr(DEFAULT_PORTAL_SECRET),
        description="Key that signs the workspace's session cookies; left at the default, "
        "the one the demo keeps in workspace_secret_file is read.",
    )
    workspace_secret_file: Path = Field(
        default=Path("var/workspace-secret"),
        description="Where the demo keeps the workspace signing key it drew; read when "
        "REVIEWS_WORKSPACE_SECRET is not set.",
    )
    workspace_session_hours: int = Field(
        default=8, ge=1, description="How long a workspace sign-in lasts."
    )
    workspace_max_failed_logins: int = Field(
        default=5, ge=1, description="Failed sign-ins in a row that lock an account."
    )
    workspace_lockout_minutes: int = Field(
        default=15, ge=1, description="How long a locked account stays locked."
    )
    workspace_trusted_user_header: str | None = Field(
        default=None,
        description="Trusted-proxy mode (off by default): the header in which the board's "
        "authenticating proxy names the signed-in user, e.g. X-Forwarded-User.",
    )

    zombie_after_seconds: int = Field(
        default=600,
        ge=60,
        description="A flow run silent this long after a heartbeat (its process died) is "
        "marked Crashed and then rescheduled; keep it above 3x PREFECT_FLOWS_HEARTBEAT_FREQUENCY.",
    )

    recovery_interval_seconds: int = Field(
        default=120,
        ge=10,
        description="How often the recover-crashed deployment looks for crashed review runs.",
    )

    def run_url(self, flow_run_id: object) -> str:
        """The Prefect UI page of a flow run (the link in "decision needed" emails)."""
        return f"{self.ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}"

    @field_validator("clock")
    @classmethod
    def _clock_is_system_or_iso(cls, value: str) -> str:
        if value != "system":
            parse_fixed_clock(value)  # raises ValueError naming what is wrong
        return value

    @model_validator(mode="after")
    def _stored_secrets(self) -> Settings:
        # One source for each signing key, read the same way by the CLI, the portal, the
        # workspace and the workers: the environment (production), else the demo's file.
        for setting, stored in (
            ("portal_secret", self.portal_secret_file),
            ("workspace_secret", self.workspace_secret_file),
        ):
            if getattr(self, setting).get_secret_value() == DEFAULT_PORTAL_SECRET:
                value = read_stored_secret(stored)
                if value is not None:
                    setattr(self, setting, SecretStr(value))
        return self

    @field_validator("mail_url")
    @classmethod
    def _mail_url_is_usable(cls, value: SecretStr) -> SecretStr:
        check_mail_url("mail_url", value.get_secret_value(), with_apprise=False)
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
