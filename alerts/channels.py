"""Delivering a message to a channel: JSON webhook and Slack through the project's guarded HTTP
client (so alerts obey the same destination checks, timeouts and retries as every request),
email through the standard library's SMTP client, and a file or stdout for the demo.

Apprise was weighed: it covers many services, but it makes its own requests (bypassing the
network guard) and reports success as a boolean without the status or reason the outbox keeps.
"""

from __future__ import annotations

import json
import os
import smtplib
import sys
from email.message import EmailMessage

from alerts.config import ChannelConfig
from alerts.messages import Message
from ingest.http import FetchError, HttpClient, HttpSettings, TimeoutFetchError


class DeliveryError(Exception):
    """A message could not be delivered; the text never contains secrets."""


def secrets_of(channel: ChannelConfig) -> list[str]:
    return [v for v in (os.environ.get(e, "") for e in channel.secret_envs()) if len(v) >= 4]


def redact(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _env(name: str, channel: ChannelConfig) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise DeliveryError(f"channel {channel.name!r}: environment variable {name} is not set")
    return value


def send(channel: ChannelConfig, message: Message, http: HttpSettings) -> None:
    """Deliver ``message``; raise DeliveryError (redacted) when it did not get through."""
    try:
        if channel.type in ("webhook", "slack"):
            url = _env(channel.url_env, channel)
            body = message.payload() if channel.type == "webhook" else message.slack()
            with HttpClient(http) as client:  # its own retries resend the same body and key
                client.post_json(url, body, headers=message.headers())
        elif channel.type == "email":
            _send_email(channel, message)
        else:
            _write_file(channel, message)
    except DeliveryError as exc:
        raise DeliveryError(redact(str(exc), secrets_of(channel))) from None
    except FetchError as exc:
        unknown = isinstance(exc, TimeoutFetchError)  # it may have arrived: the retry carries the same key
        text = f"{exc.kind}: {exc}" + (" (outcome unknown: retried with the same key)" if unknown else "")
        raise DeliveryError(redact(text, secrets_of(channel))) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(redact(f"{type(exc).__name__}: {exc}", secrets_of(channel))) from None


def _send_email(channel: ChannelConfig, message: Message) -> None:
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = channel.mail_from
    mail["To"] = ", ".join(channel.mail_to)
    # The same Message-ID on every attempt: mail systems and clients drop a copy they have seen.
    mail["Message-ID"] = f"<{message.key}@axiswatch>"
    mail["X-Idempotency-Key"] = message.key
    mail.set_content(message.text())
    mail.add_alternative(message.html(), subtype="html")
    with smtplib.SMTP(channel.smtp_host, channel.smtp_port, timeout=30) as smtp:
        if channel.smtp_starttls:
            smtp.starttls()
        if channel.smtp_user_env:
            smtp.login(_env(channel.smtp_user_env, channel), _env(channel.smtp_password_env, channel))
        smtp.send_message(mail)


def _write_file(channel: ChannelConfig, message: Message) -> None:
    line = json.dumps({"subject": message.subject, **message.payload()}, ensure_ascii=False) + "\n"
    if channel.path == "-":
        sys.stdout.write(message.text())
        sys.stdout.flush()
        return
    with open(channel.path, "a", encoding="utf-8") as handle:
        handle.write(line)
