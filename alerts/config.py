"""Alert rules and channels, validated like the rest of the settings. Secrets are never here:
channels name the environment variables that hold webhook URLs and SMTP passwords."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ZERO_CONFIG_ENV = "AXISWATCH_ALERT_WEBHOOK_URL"


class ChannelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    type: Literal["webhook", "slack", "email", "file"]
    url_env: str = ""  # webhook/slack: the environment variable holding the URL (a secret)
    path: str = ""  # file: JSON lines appended here; "-" for stdout
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_user_env: str = ""
    smtp_password_env: str = ""
    mail_from: str = ""
    mail_to: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> ChannelConfig:
        if self.type in ("webhook", "slack") and not self.url_env:
            raise ValueError(f"channel {self.name!r}: a {self.type} channel needs url_env (the variable holding the URL)")
        if self.type == "email" and not (self.smtp_host and self.mail_from and self.mail_to):
            raise ValueError(f"channel {self.name!r}: an email channel needs smtp_host, mail_from and mail_to")
        if self.type == "file" and not self.path:
            raise ValueError(f"channel {self.name!r}: a file channel needs path ('-' for stdout)")
        return self

    def secret_envs(self) -> list[str]:
        return [e for e in (self.url_env, self.smtp_user_env, self.smtp_password_env) if e]


class RuleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    channels: list[str] = Field(min_length=1)
    mode: Literal["digest", "immediate"] = "digest"
    min_score: float = Field(0.0, ge=0, le=1)
    min_outlets: int = Field(1, ge=1)
    countries: list[str] = Field(default_factory=list)  # any of these (empty: all)
    topics: list[str] = Field(default_factory=list)  # any of these (empty: all)
    languages: list[str] = Field(default_factory=list)  # any of these (empty: all)
    notify_updates: bool = False  # alert again when a sent story is carried by more outlets
    max_age_hours: int = Field(48, ge=1)  # never alert on stories first seen longer ago than this
    # What the rule watches for (each kind alerts once per story, under the rule's own key):
    # story: every qualifying story; breaking: at least `growth` more outlets (or copies) published
    # it within `within_hours` of its first report; state_media_only: carried by state media alone
    # for at least `within_hours` since its first report; corroborated: first reported by state
    # media, since carried by an outlet that is neither state media nor unknown.
    kind: Literal["story", "breaking", "state_media_only", "corroborated"] = "story"
    growth: int = Field(3, ge=1)  # breaking: outlets (or copies) besides the first within within_hours
    growth_of: Literal["outlets", "copies"] = "outlets"
    within_hours: float = Field(6.0, gt=0, le=24 * 30)

    @model_validator(mode="after")
    def _once_per_story(self) -> RuleConfig:
        if self.kind != "story" and self.notify_updates:
            raise ValueError(f"rule {self.name!r}: notify_updates is for kind 'story'; a {self.kind} alert is sent once per story")
        return self


class AlertsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[ChannelConfig] = Field(default_factory=list)
    rules: list[RuleConfig] = Field(default_factory=list)
    retry_base_minutes: float = Field(60, ge=0)  # from the third failure on, wait base * 2^n (capped at a day)

    @model_validator(mode="after")
    def _references(self) -> AlertsConfig:
        names = [c.name for c in self.channels]
        if len(set(names)) != len(names):
            raise ValueError("alerts.channels: channel names must be unique")
        rules = [r.name for r in self.rules]
        if len(set(rules)) != len(rules):
            raise ValueError("alerts.rules: rule names must be unique")
        for rule in self.rules:
            for channel in rule.channels:
                if channel not in names:
                    raise ValueError(f"alerts.rules[{rule.name}]: unknown channel {channel!r}")
        return self

    def effective(self) -> AlertsConfig:
        """With AXISWATCH_ALERT_WEBHOOK_URL set, add a JSON webhook and a digest rule for every new axis story."""
        if not os.environ.get(ZERO_CONFIG_ENV) or any(c.url_env == ZERO_CONFIG_ENV for c in self.channels):
            return self
        channel = ChannelConfig(name="env-webhook", type="webhook", url_env=ZERO_CONFIG_ENV)
        rule = RuleConfig(name="default", channels=["env-webhook"], mode="digest")
        return self.model_copy(update={"channels": [*self.channels, channel], "rules": [*self.rules, rule]})
