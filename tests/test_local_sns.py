"""The SNS outbox: stored and printed always; webhook delivery retried and recorded, never dropped."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from orchestrator.local.sns import Outbox, SmtpConfig, configured_outbox
from orchestrator.local.store import Store

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    fail_first = 0

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        cls = type(self)
        if cls.fail_first > 0:
            cls.fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        cls.received.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def hook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"received": [], "fail_first": 0})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", handler
    server.shutdown()


def test_publish_is_stored_printed_and_shaped_like_aws(tmp_path: Path) -> None:
    printed: list[str] = []
    outbox = Outbox(Store(tmp_path), printer=printed.append)
    out = outbox.publish({"TopicArn": TOPIC, "Subject": "failed", "Message": {"task": "load"}},
                         execution_arn="exec-1", state_name="Notify")
    assert set(out) == {"MessageId", "SdkHttpMetadata", "SdkResponseMetadata"}
    (message,) = outbox.store.messages("exec-1")
    assert message["message"] == '{"task":"load"}' and message["subject"] == "failed"
    assert message["message_id"] == out["MessageId"]
    assert printed == ['[sns] alerts: failed — {"task":"load"}']


def test_webhook_gets_the_sns_notification(tmp_path: Path, hook: tuple[str, type[_Hook]]) -> None:
    url, handler = hook
    outbox = Outbox(Store(tmp_path), webhooks=[url], printer=lambda text: None)
    out = outbox.publish({"TopicArn": TOPIC, "Message": "hello"})
    outbox.flush(timeout=10)
    (body,) = handler.received
    assert body["Type"] == "Notification" and body["Message"] == "hello" and body["TopicArn"] == TOPIC
    assert body["MessageId"] == out["MessageId"]
    assert [d["status"] for d in outbox.store.deliveries(out["MessageId"])] == ["DELIVERED"]


def test_failed_delivery_is_retried_with_backoff_and_recorded(tmp_path: Path, hook: tuple[str, type[_Hook]]) -> None:
    url, handler = hook
    handler.fail_first = 2
    outbox = Outbox(Store(tmp_path), webhooks=[url], printer=lambda text: None, backoff=0.01)
    out = outbox.publish({"TopicArn": TOPIC, "Message": "again"})
    outbox.flush(timeout=10)
    assert [d["status"] for d in outbox.store.deliveries(out["MessageId"])] == ["RETRYING", "RETRYING", "DELIVERED"]
    assert len(handler.received) == 1


def test_undeliverable_message_is_kept_after_bounded_attempts(tmp_path: Path) -> None:
    printed: list[str] = []
    outbox = Outbox(Store(tmp_path), webhooks=["http://127.0.0.1:9/closed"], printer=printed.append,
                    attempts=3, backoff=0.01)
    out = outbox.publish({"TopicArn": TOPIC, "Message": "lost?"})
    outbox.flush(timeout=10)
    deliveries = outbox.store.deliveries(out["MessageId"])
    assert [d["status"] for d in deliveries] == ["RETRYING", "RETRYING", "FAILED"]
    assert outbox.store.messages()[0]["message"] == "lost?"
    assert "kept in the outbox" in printed[-1]


def test_targets_come_from_the_environment(tmp_path: Path) -> None:
    env = {"ORCHESTRATOR_SNS_WEBHOOK": "http://127.0.0.1:1/a, http://127.0.0.1:1/b",
           "ORCHESTRATOR_SMTP_HOST": "127.0.0.1", "ORCHESTRATOR_SMTP_PORT": "2525"}
    outbox = configured_outbox(Store(tmp_path), email=["ops@example.com"], env=env)
    assert outbox.webhooks == ["http://127.0.0.1:1/a", "http://127.0.0.1:1/b"]
    assert outbox.smtp == SmtpConfig(host="127.0.0.1", port=2525, to=("ops@example.com",))
    assert configured_outbox(Store(tmp_path), env={}).smtp is None


def _smtp_server(received: list[str]) -> tuple[int, threading.Thread]:
    """A minimal SMTP server on 127.0.0.1 that accepts one message."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as rfile:
            def say(text: str) -> None:
                conn.sendall((text + "\r\n").encode())
            say("220 localhost ESMTP test")
            while True:
                line = rfile.readline().decode().strip()
                verb = line.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    say("250 localhost")
                elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                    say("250 OK")
                elif verb == "DATA":
                    say("354 go ahead")
                    lines = []
                    while (data := rfile.readline()) not in (b".\r\n", b""):
                        lines.append(data.decode())
                    received.append("".join(lines))
                    say("250 queued")
                elif verb == "QUIT" or not line:
                    say("221 bye")
                    break
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


def test_smtp_delivery_to_the_notify_addresses(tmp_path: Path) -> None:
    received: list[str] = []
    port, thread = _smtp_server(received)
    smtp = SmtpConfig(host="127.0.0.1", port=port, to=("ops@example.com",), sender="orchestrator@test")
    outbox = Outbox(Store(tmp_path), smtp=smtp, printer=lambda text: None)
    out = outbox.publish({"TopicArn": TOPIC, "Subject": "Failed: wf / load", "Message": "details"})
    outbox.flush(timeout=10)
    thread.join(5)
    (mail,) = received
    assert "Subject: Failed: wf / load" in mail and "To: ops@example.com" in mail and "details" in mail
    assert [d["status"] for d in outbox.store.deliveries(out["MessageId"])] == ["DELIVERED"]


def test_the_workflows_own_webhook_needs_an_explicit_opt_in(tmp_path: Path) -> None:
    hook = "https://hooks.example.com/alerts"
    assert configured_outbox(Store(tmp_path), webhook=hook, env={}).webhooks == []
    assert configured_outbox(Store(tmp_path), webhook=hook, env={"ORCHESTRATOR_NOTIFY_DELIVER": "1"}).webhooks == [hook]


# -- deliveries a dead runner left unfinished --------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _stuck(store: Store, target: str, *, status: str = "RETRYING", attempt: int = 2, runner: int | None = None) -> str:
    """A message whose delivery to ``target`` stopped at ``attempt`` (``status``), by runner ``runner``."""
    arn = f"arn:aws:states:us-east-1:123456789012:execution:wf:{uuid.uuid4().hex}"
    store.create_execution(arn=arn, name=arn.rsplit(":", 1)[-1], state_machine_arn="sm", workflow="wf",
                           parent_arn=None, scope="s", input={}, start_date="2026-01-01T00:00:00.000+00:00",
                           cwd=".", plan=None, runner_start=None)
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE executions SET status='FAILED', runner_pid=? WHERE arn=?",
                   (_dead_pid() if runner is None else runner, arn))
    message_id = str(uuid.uuid4())
    store.put_message(message_id=message_id, execution_arn=arn, state_name="Alert", topic_arn=TOPIC,
                      subject="failed", message="task load failed", attributes=None, created_at=1_700_000_000_000)
    for n in range(1, attempt + 1):
        store.put_delivery(message_id=message_id, target=target, attempt=n,
                           status=status if n == attempt else "RETRYING", error="HTTP 503", at=n)
    return message_id


def test_a_delivery_left_retrying_by_a_dead_runner_is_resumed_with_its_remaining_attempts(
        tmp_path: Path, hook: tuple[str, type[_Hook]]) -> None:
    url, handler = hook
    store = Store(tmp_path)
    message_id = _stuck(store, url)
    handler.fail_first = 1
    outbox = Outbox(store, printer=lambda text: None, attempts=4, backoff=0.01)
    assert [r["message_id"] for r in outbox.redeliver()] == [message_id]
    outbox.flush(timeout=10)
    assert [(d["attempt"], d["status"]) for d in store.deliveries(message_id)] == [
        (1, "RETRYING"), (2, "RETRYING"), (3, "RETRYING"), (4, "DELIVERED")]
    (body,) = handler.received
    assert (body["MessageId"], body["Message"], body["Timestamp"]) == (
        message_id, "task load failed", "2023-11-14T22:13:20.000Z")
    assert outbox.redeliver() == []  # delivered: nothing left


def test_redelivery_is_bounded_and_leaves_live_runners_and_failed_deliveries_alone(
        tmp_path: Path, hook: tuple[str, type[_Hook]]) -> None:
    url, handler = hook
    store = Store(tmp_path)
    live = _stuck(store, url, runner=os.getpid())  # its runner is still at it
    exhausted = _stuck(store, url, status="FAILED", attempt=4)
    outbox = Outbox(store, printer=lambda text: None, attempts=4, backoff=0.01)
    assert outbox.redeliver() == []
    assert len(store.deliveries(live)) == 2 and len(store.deliveries(exhausted)) == 4
    assert [r["message_id"] for r in outbox.redeliver(include_failed=True)] == [exhausted]
    outbox.flush(timeout=10)
    assert [(d["attempt"], d["status"]) for d in store.deliveries(exhausted)][-1] == (5, "DELIVERED")
    assert len(handler.received) == 1


def test_smtp_redelivery_uses_the_messages_recipients_or_records_that_smtp_is_gone(tmp_path: Path) -> None:
    store = Store(tmp_path)
    message_id = _stuck(store, "smtp://mail.example.com:2525/ops@example.com")
    assert Outbox(store, printer=lambda text: None).redeliver() == []
    (*_, last) = store.deliveries(message_id)
    assert (last["attempt"], last["status"]) == (3, "FAILED") and "not configured" in (last["error"] or "")
    sent: list[tuple[str, ...]] = []
    other = _stuck(store, "smtp://mail.example.com:2525/ops@example.com")
    outbox = Outbox(store, smtp=SmtpConfig(host="mail.example.com", port=2525), printer=lambda text: None)
    outbox._mail = lambda smtp, subject, body: sent.append(smtp.to)  # type: ignore[method-assign]
    assert [r["message_id"] for r in outbox.redeliver()] == [other]
    outbox.flush(timeout=10)
    assert sent == [("ops@example.com",)]


def test_the_next_run_resumes_what_a_dead_runner_left_retrying(tmp_path: Path, hook: tuple[str, type[_Hook]],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator import model
    from orchestrator.local.runs import run_workflow

    monkeypatch.chdir(tmp_path)
    url, handler = hook
    store = Store(tmp_path / "home")
    message_id = _stuck(store, url)
    printed: list[str] = []
    wf = model.Workflow(name="next", tasks=(model.Task(name="t", job=model.BatchJob(image="x", command=("true",))),))
    assert run_workflow(wf, home=tmp_path / "home", notice=printed.append).status == "SUCCEEDED"
    assert "[sns] resuming 1 delivery(ies) an earlier runner left unfinished" in printed
    assert store.deliveries(message_id)[-1]["status"] == "DELIVERED"  # the run waits for its deliveries
    assert len(handler.received) == 1


def test_redeliver_messages_command_reports_each_resumed_delivery(
        tmp_path: Path, hook: tuple[str, type[_Hook]], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator.local import commands

    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path / "home"))
    url, handler = hook
    assert commands.redeliver_messages() == 0
    assert "No unfinished SNS deliveries." in capsys.readouterr().out
    message_id = _stuck(Store(tmp_path / "home"), url)
    assert commands.redeliver_messages() == 0
    assert f"{message_id} → {url}: DELIVERED" in capsys.readouterr().out
    assert len(handler.received) == 1
