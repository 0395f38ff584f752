"""SMS backends behind one small interface, so that a provider is a class and a setting."""

import json
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone


class SmsBackend(Protocol):
    def send(self, to: str, body: str) -> None: ...


class ConsoleSms:
    """Writes messages to standard output (the embedded default; the demo reads codes here)."""

    def __init__(self, **options: Any) -> None:
        self.stream = options.get("stream") or sys.stdout

    def send(self, to: str, body: str) -> None:
        self.stream.write(f"SMS to {to}\n{body}\n{'-' * 40}\n")
        self.stream.flush()


class FileSms:
    """Appends one JSON line per message to a file (tests and demos read it back)."""

    _lock = threading.Lock()

    def __init__(self, **options: Any) -> None:
        self.path = Path(options.get("path") or settings.PORTAL_SMS_FILE_PATH)

    def send(self, to: str, body: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"to": to, "body": body, "at": timezone.now().isoformat()}, ensure_ascii=False)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


class HttpSmsGateway:
    """A provider's HTTP API: POSTs ``{"receptor": to, "message": body}`` as JSON with a bearer key.

    Most Iranian gateways (and Twilio-like ones) take this shape; a provider with another shape
    subclasses this and overrides ``payload``.
    """

    def __init__(self, **options: Any) -> None:
        self.url = options["url"]
        self.api_key = options.get("api_key", "")
        self.sender = options.get("sender", "")
        self.timeout = float(options.get("timeout", 10))

    def payload(self, to: str, body: str) -> dict[str, str]:
        return {"receptor": to, "message": body, "sender": self.sender}

    def send(self, to: str, body: str) -> None:
        request = urllib.request.Request(  # noqa: S310 (the URL is operator configuration)
            self.url,
            data=json.dumps(self.payload(to, body)).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            if response.status >= 300:
                raise RuntimeError(f"SMS gateway answered {response.status}")


class LocmemSms:
    """Keeps messages in ``LocmemSms.outbox`` (tests), like Django's locmem e-mail backend."""

    outbox: list[dict[str, str]] = []

    def __init__(self, **options: Any) -> None:
        pass

    def send(self, to: str, body: str) -> None:
        LocmemSms.outbox.append({"to": to, "body": body})
