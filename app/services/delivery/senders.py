"""Channel senders: webhook and SMS gateway over HTTP (urllib), e-mail over SMTP. No database here."""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

from app.services.delivery.outbox import Claimed
from app.services.event_envelope import SCHEMA, event_id, local_iso

USER_AGENT = "govflow-outbox/1"
_NS = uuid.UUID("0b7c6b2e-4a3e-5f5c-9d55-676f76666c6f")


@dataclass(frozen=True)
class SmtpSettings:
    """Outgoing mail server."""

    host: str
    port: int
    sender: str
    user: str = ""
    password: str = ""
    starttls: bool = False


@dataclass(frozen=True)
class DeliverySettings:
    """Where each channel goes; an empty endpoint means the channel is not configured."""

    webhook_url: str = ""
    sms_url: str = ""
    smtp: SmtpSettings | None = None
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DeliverySettings:
        """Build from the app config keys SUPERVISION_WEBHOOK_URL, SMS_GATEWAY_URL, SMTP_*."""
        host = str(config.get("SMTP_HOST") or "")
        smtp = SmtpSettings(
            host=host,
            port=int(config.get("SMTP_PORT") or 25),
            sender=str(config.get("SMTP_SENDER") or "govflow@localhost"),
            user=str(config.get("SMTP_USER") or ""),
            password=str(config.get("SMTP_PASSWORD") or ""),
            starttls=bool(config.get("SMTP_STARTTLS")),
        )
        return cls(
            webhook_url=str(config.get("SUPERVISION_WEBHOOK_URL") or ""),
            sms_url=str(config.get("SMS_GATEWAY_URL") or ""),
            smtp=smtp if host else None,
        )

    def configured(self, channel: str) -> bool:
        """Whether `channel` has an endpoint."""
        if channel in ("webhook", "bpmn"):
            return bool(self.webhook_url)
        if channel == "sms":
            return bool(self.sms_url)
        return channel == "email" and self.smtp is not None


class DeliveryError(Exception):
    """A send that was not acknowledged; the message is kept as last_error.

    `endpoint_down` (connection refused, timeout): the other rows of the channel wait too.
    """

    def __init__(self, message: str, endpoint_down: bool = False) -> None:
        super().__init__(message)
        self.endpoint_down = endpoint_down


def platform_body(claimed: Claimed) -> dict[str, Any]:
    """The JSON the supervision platform receives; outbound BPMN events get the same envelope."""
    if claimed.channel != "bpmn":
        return dict(claimed.payload)
    case_number = claimed.payload.get("case")
    name = str(claimed.payload.get("name") or claimed.kind)
    return {
        "schema": SCHEMA,
        "event_id": event_id(claimed.idempotency_key),
        "idempotency_key": claimed.idempotency_key,
        "kind": f"bpmn.{name}",
        "case_number": case_number,
        "case_kind": None,
        "occurred_at": local_iso(claimed.created_at),
        "department": None,
        "item_code": None,
        "step": None,
        "actor": None,
        "data": dict(claimed.payload.get("payload") or {}),
    }


def post_json(url: str, body: Mapping[str, Any], key: str, kind: str, timeout: float) -> None:
    """POST a JSON body; any 2xx is an acknowledgement, everything else raises DeliveryError."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryError(f"不支持的地址 (unsupported URL scheme): {url}")
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": key,
        "X-Govflow-Event": kind,
        "User-Agent": USER_AGENT,
    }
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 (scheme checked)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked)
            status = response.status
    except urllib.error.HTTPError as error:
        text = error.read(300).decode("utf-8", "replace")
        error.close()
        raise DeliveryError(f"HTTP {error.code}: {text}".strip()) from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DeliveryError(f"连接失败 (connection failed): {reason}", endpoint_down=True) from error
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")


def send_email(smtp: SmtpSettings, payload: Mapping[str, Any], key: str, timeout: float) -> None:
    """Send one UTF-8 message; the Message-ID is derived from the idempotency key."""
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = str(payload["to"])
    message["Subject"] = str(payload["subject"])
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = f"<{uuid.uuid5(_NS, key)}@govflow>"
    message.set_content(str(payload.get("body") or ""), charset="utf-8")
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.user:
                client.login(smtp.user, smtp.password)
            client.send_message(message)
    except smtplib.SMTPResponseException as error:
        reply = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else error
        raise DeliveryError(f"SMTP {smtp.host}:{smtp.port}: {error.smtp_code} {reply}") from error
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryError(f"SMTP {smtp.host}:{smtp.port}: {error}", endpoint_down=True) from error


def endpoint_of(channel: str) -> str:
    """Channels sharing an endpoint (bpmn events go through the supervision webhook)."""
    return "webhook" if channel == "bpmn" else channel


def send(claimed: Claimed, settings: DeliverySettings) -> None:
    """Send one claimed row on its channel; raises DeliveryError if not acknowledged."""
    key = claimed.idempotency_key
    if claimed.channel in ("webhook", "bpmn"):
        body = platform_body(claimed)
        post_json(settings.webhook_url, body, key, str(body["kind"]), settings.timeout)
    elif claimed.channel == "sms":
        post_json(settings.sms_url, dict(claimed.payload), key, claimed.kind, settings.timeout)
    elif claimed.channel == "email" and settings.smtp is not None:
        send_email(settings.smtp, claimed.payload, key, settings.timeout * 3)
    else:
        raise DeliveryError(f"未知渠道 (unknown channel) {claimed.channel}")
