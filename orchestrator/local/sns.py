"""The SNS outbox: every ``sns:publish`` is stored in SQLite and printed, then optionally delivered.

Delivery targets are opt-in, read from the environment (or passed in):

* ``ORCHESTRATOR_SNS_WEBHOOK`` — comma-separated URLs; each gets an HTTP POST of the SNS
  notification JSON (``Type``, ``MessageId``, ``TopicArn``, ``Subject``, ``Message``, ``Timestamp``).
* ``ORCHESTRATOR_SMTP_HOST`` (``_PORT``, ``_USER``, ``_PASSWORD``, ``_FROM``, ``_STARTTLS=1``,
  ``_TO``) — e-mail through that server to ``_TO`` or the workflow's ``notify.email``.
* ``ORCHESTRATOR_NOTIFY_DELIVER=1`` — also POST to the workflow's own ``notify.webhook``.

A delivery that fails is retried a bounded number of times with exponential backoff in a
background thread; every attempt is recorded in the ``deliveries`` table, and the message stays
in ``messages`` whatever happens — nothing is dropped. A delivery left RETRYING by a runner that
died (or ended its run mid-backoff) is resumed by the next ``orchestrator run`` or ``redrive``
in that store, with the attempts it had left (:meth:`Outbox.redeliver`).

    >>> import tempfile
    >>> from orchestrator.local.store import Store
    >>> outbox = Outbox(Store(tempfile.mkdtemp()), printer=lambda text: None)
    >>> sorted(outbox.publish({"TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts", "Message": "hi"}))
    ['MessageId', 'SdkHttpMetadata', 'SdkResponseMetadata']
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestrator.engine.integrations import TaskCall
from orchestrator.local.procs import runner_alive
from orchestrator.local.store import Store

DELIVERY_ATTEMPTS = 4
DELIVERY_BACKOFF = 1.0  # seconds before the 2nd attempt; doubled each time
WEBHOOK_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpConfig:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    sender: str = "orchestrator@localhost"
    starttls: bool = False
    to: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str], default_to: Sequence[str] = ()) -> SmtpConfig | None:
        host = env.get("ORCHESTRATOR_SMTP_HOST")
        if not host:
            return None
        to = tuple(a.strip() for a in env.get("ORCHESTRATOR_SMTP_TO", "").split(",") if a.strip())
        return cls(host=host, port=int(env.get("ORCHESTRATOR_SMTP_PORT", "25")),
                   user=env.get("ORCHESTRATOR_SMTP_USER"), password=env.get("ORCHESTRATOR_SMTP_PASSWORD"),
                   sender=env.get("ORCHESTRATOR_SMTP_FROM", "orchestrator@localhost"),
                   starttls=env.get("ORCHESTRATOR_SMTP_STARTTLS") == "1", to=to or tuple(default_to))


def webhooks_from_env(env: Mapping[str, str]) -> list[str]:
    return [u.strip() for u in env.get("ORCHESTRATOR_SNS_WEBHOOK", "").split(",") if u.strip()]


def _now_ms() -> int:
    return int(time.time() * 1000)


class Outbox:
    """The ``sns:publish`` integration."""

    def __init__(self, store: Store, *, webhooks: Sequence[str] = (), smtp: SmtpConfig | None = None,
                 printer: Callable[[str], None] | None = None, attempts: int = DELIVERY_ATTEMPTS,
                 backoff: float = DELIVERY_BACKOFF) -> None:
        self.store = store
        self.webhooks = list(webhooks)
        self.smtp = smtp
        self._print = printer or (lambda text: print(text, file=sys.stderr))
        self.attempts = attempts
        self.backoff = backoff
        self._pending: list[threading.Thread] = []

    def __call__(self, call: TaskCall) -> Any:
        params = call.parameters if isinstance(call.parameters, Mapping) else {}
        return self.publish(params, execution_arn=call.execution_arn, state_name=call.state_name)

    def publish(self, params: Mapping[str, Any], *, execution_arn: str | None = None,
                state_name: str | None = None) -> dict[str, Any]:
        topic = str(params.get("TopicArn") or params.get("TargetArn") or params.get("PhoneNumber") or "")
        message = params.get("Message", "")
        if not isinstance(message, str):
            message = json.dumps(message, separators=(",", ":"))
        subject = params.get("Subject")
        message_id = str(uuid.uuid4())
        created = _now_ms()
        self.store.put_message(message_id=message_id, execution_arn=execution_arn, state_name=state_name,
                               topic_arn=topic, subject=subject, message=message,
                               attributes=params.get("MessageAttributes"), created_at=created)
        topic_name = topic.rsplit(":", 1)[-1]
        self._print(f"[sns] {topic_name}: {subject + ' — ' if subject else ''}{message}")
        targets = [*self.webhooks, *([smtp_target(self.smtp)] if self.smtp is not None and self.smtp.to else [])]
        for target in targets:
            send = self._sender(target, message_id, topic, subject, message, created)
            if send is not None:
                self._deliver_later(message_id, target, send)
        rid = str(uuid.uuid4())
        date = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
        headers = {"x-amzn-RequestId": rid, "Content-Type": "text/xml", "Date": date, "connection": "keep-alive"}
        return {"MessageId": message_id,
                "SdkHttpMetadata": {"AllHttpHeaders": {k: [v] for k, v in headers.items()},
                                    "HttpHeaders": headers, "HttpStatusCode": 200},
                "SdkResponseMetadata": {"RequestId": rid}}

    def _sender(self, target: str, message_id: str, topic: str, subject: str | None, message: str,
                created_ms: int) -> Callable[[], None] | None:
        """What sends one message to ``target`` (a webhook URL or ``smtp://host:port``), if configured."""
        if target.startswith("smtp://"):
            server, _, to = target.partition("/")[2].partition("/")[2].partition("/")
            smtp = self.smtp
            if smtp is None or not to or f"{smtp.host}:{smtp.port}" != server:
                return None
            smtp = dataclasses.replace(smtp, to=tuple(to.split(",")))  # the message's own recipients
            title = subject or f"Notification from {topic.rsplit(':', 1)[-1]}"
            return lambda: self._mail(smtp, title, message)
        stamp = datetime.fromtimestamp(created_ms / 1000, UTC).isoformat(timespec="milliseconds")
        notification = {"Type": "Notification", "MessageId": message_id, "TopicArn": topic, "Subject": subject,
                        "Message": message, "Timestamp": stamp.replace("+00:00", "Z")}
        return functools.partial(self._post, target, notification)

    def redeliver(self, *, include_failed: bool = False) -> list[dict[str, Any]]:
        """Resume deliveries a runner left unfinished; returns the deliveries resumed.

        A runner that dies (or ends its run while a delivery is still backing off) leaves that
        delivery's last record RETRYING. Each one whose publishing runner is gone continues here,
        in the background, with the attempts it had left, so the total stays bounded by
        ``attempts``; ``include_failed`` gives deliveries that used all their attempts one more
        round. A target no longer configured (SMTP settings gone) is recorded FAILED, and the
        message stays in the outbox either way.
        """
        resumed = []
        for row in self.store.unfinished_deliveries(include_failed=include_failed):
            if row["runner_pid"] is not None and runner_alive(row["runner_pid"], row["runner_start"]):
                continue  # that runner is still delivering it
            first = int(row["attempt"]) + 1
            # RETRYING: the attempts it had left; FAILED (asked for): one more full round.
            last = first + self.attempts - 1 if row["status"] == "FAILED" else self.attempts
            send = self._sender(row["target"], row["message_id"], row["topic_arn"], row["subject"],
                                row["message"], int(row["created_at"]))
            if send is None:
                self.store.put_delivery(message_id=row["message_id"], target=row["target"], attempt=first,
                                        status="FAILED", at=_now_ms(),
                                        error="not configured here any more (ORCHESTRATOR_SMTP_HOST/_PORT)")
                continue
            resumed.append(row)
            self._deliver_later(row["message_id"], row["target"], send, attempts=(first, max(first, last)))
        return resumed

    def _deliver_later(self, message_id: str, target: str, send: Callable[[], None], *,
                       attempts: tuple[int, int] | None = None) -> None:
        first, last = attempts or (1, self.attempts)
        thread = threading.Thread(target=self._deliver, args=(message_id, target, send, first, last), daemon=True,
                                  name=f"sns-delivery-{message_id[:8]}")
        self._pending.append(thread)
        thread.start()

    def _deliver(self, message_id: str, target: str, send: Callable[[], None], first: int, last: int) -> None:
        # smtplib and urllib.request (~15 ms with ssl and email) only when something is delivered.
        import smtplib
        import urllib.error

        delay = self.backoff
        for attempt in range(first, last + 1):
            try:
                send()
            except (OSError, smtplib.SMTPException, urllib.error.URLError, ValueError) as exc:
                final = attempt >= last
                self.store.put_delivery(message_id=message_id, target=target, attempt=attempt,
                                        status="FAILED" if final else "RETRYING", error=str(exc), at=_now_ms())
                if final:
                    self._print(f"[sns] delivery to {target} failed after {attempt} attempts: {exc} "
                                "(the message is kept in the outbox)")
                    return
                time.sleep(delay)
                delay *= 2
                continue
            self.store.put_delivery(message_id=message_id, target=target, attempt=attempt,
                                    status="DELIVERED", error=None, at=_now_ms())
            return

    @staticmethod
    def _post(url: str, notification: Mapping[str, Any]) -> None:
        import urllib.request

        request = urllib.request.Request(
            url, data=json.dumps(notification).encode(), method="POST",
            headers={"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification",
                     "x-amz-sns-message-id": str(notification["MessageId"]),
                     "x-amz-sns-topic-arn": str(notification["TopicArn"])})
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
            if response.status >= 300:
                raise OSError(f"HTTP {response.status}")

    @staticmethod
    def _mail(smtp: SmtpConfig, subject: str, body: str) -> None:
        import smtplib
        from email.message import EmailMessage

        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = smtp.sender, ", ".join(smtp.to), subject
        mail.set_content(body)
        client_cls = smtplib.SMTP_SSL if smtp.port == 465 else smtplib.SMTP
        with client_cls(smtp.host, smtp.port, timeout=WEBHOOK_TIMEOUT) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            client.send_message(mail)

    def flush(self, timeout: float | None = None) -> None:
        """Wait for deliveries in flight (the run's end waits so none is cut short)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in list(self._pending):
            thread.join(None if deadline is None else max(deadline - time.monotonic(), 0))
        self._pending = [t for t in self._pending if t.is_alive()]


def smtp_target(smtp: SmtpConfig) -> str:
    """How deliveries through ``smtp`` are recorded, recipients included, so a redelivery has them.

    >>> smtp_target(SmtpConfig(host="mail", to=("a@x.org", "b@x.org")))
    'smtp://mail:25/a@x.org,b@x.org'
    """
    return f"smtp://{smtp.host}:{smtp.port}/{','.join(smtp.to)}"


def configured_outbox(store: Store, *, email: Sequence[str] = (), webhook: str | None = None,
                      printer: Callable[[str], None] | None = None,
                      env: Mapping[str, str] | None = None) -> Outbox:
    """The outbox with targets from the environment (see the module docstring).

    The workflow's own ``notify.webhook`` is used only with ``ORCHESTRATOR_NOTIFY_DELIVER=1``: a
    local run is usually a test, and its failures should not page whoever the real alerts reach.
    """
    env = os.environ if env is None else env
    webhooks = webhooks_from_env(env)
    if webhook and env.get("ORCHESTRATOR_NOTIFY_DELIVER") == "1" and webhook not in webhooks:
        webhooks.append(webhook)
    return Outbox(store, webhooks=webhooks, smtp=SmtpConfig.from_env(env, email), printer=printer)
