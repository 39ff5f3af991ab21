"""The console end to end in a real headless Chromium (Debian's chromium + chromium-driver, selenium),
against ``orchestrator serve``'s app on 127.0.0.1: start a run from the workflows page and watch its
tasks turn green without a reload, read a failed run's failing log lines, redrive it to success,
stop a running one."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console_browser import chrome, skip_reason

REASON = skip_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"console browser tests skipped: {REASON}")

PROJECT = """\
name: demo
schedule: {expression: "rate(1 hour)", timezone: UTC}
tasks:
  - name: prepare
    batch: {image: "alpine:3", command: [sh, -c, "echo preparing; sleep 1.5; echo prepared"]}
    timeout: 5m
  - name: left
    batch: {image: "alpine:3", command: [sh, -c, "echo left; sleep 0.5"]}
    timeout: 5m
    after: [prepare]
  - name: right
    batch: {image: "alpine:3", command: [sh, -c, "echo checking; test -f ok || { echo 'missing file: ok' >&2; exit 3; }"]}
    timeout: 5m
    after: [prepare]
  - name: finish
    batch: {image: "alpine:3", command: [sh, -c, "echo finished"]}
    timeout: 5m
    after: [left, right]
"""
SLOW = """\
name: slow
tasks:
  - name: sleepy
    batch: {image: "alpine:3", command: [sh, -c, "echo sleeping; sleep 120"]}
    timeout: 10m
"""
TASKS = ("prepare", "left", "right", "finish")


def until(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def text(driver: Any, css: str) -> str:
    """An element's text read in one script call (the page re-renders parts of itself as it polls,
    so a found element can be replaced before its text is read)."""
    return str(driver.execute_script("const el = document.querySelector(arguments[0]);"
                                     " return el ? el.textContent : ''", css))


DAG_TASKS = frozenset({*TASKS, "sleepy"})


def statuses(driver: Any) -> dict[str, str]:
    """The workflow's own tasks in the graph (not the service calls around them: the overlap guard,
    the alert path)."""
    found = dict(driver.execute_script(
        "return Array.from(document.querySelectorAll('svg.graph g.node[data-type=Task]'))"
        ".map(g => [g.dataset.name, g.dataset.status || ''])"))
    return {name: status for name, status in found.items() if name in DAG_TASKS}


@pytest.fixture()
def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str, Any, Path]]:
    from orchestrator.server.service import Service
    from tests.server_support import running_server

    (tmp_path / "demo.yaml").write_text(PROJECT)
    (tmp_path / "slow.yaml").write_text(SLOW)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCHESTRATOR_LOCAL_DOCKER", "0")
    service = Service(home=tmp_path / ".orchestrator", notice=lambda text: None)
    service.serve([tmp_path / "demo.yaml", tmp_path / "slow.yaml"])
    try:
        with running_server(service) as url, chrome() as driver:
            yield driver, url, service, tmp_path
    finally:
        service.close(wait=10)


def test_start_watch_fail_read_the_log_redrive_and_stop(console: tuple[Any, str, Any, Path]) -> None:
    from selenium.webdriver.common.by import By

    driver, url, service, project = console
    (project / "ok").write_text("")

    # The workflows page starts a run through StartExecution and opens its page.
    driver.get(url + "/")
    until(lambda: driver.find_elements(By.CSS_SELECTOR, 'tr[data-workflow="demo"]'), "the demo workflow row")
    driver.find_element(By.CSS_SELECTOR, 'button[data-start="demo"]').click()
    box = driver.find_element(By.CSS_SELECTOR, "dialog textarea")
    box.clear()
    box.send_keys('{"day": 1}')
    driver.find_element(By.CSS_SELECTOR, 'dialog [data-act="start"]').click()
    until(lambda: "/executions/arn:aws:states:" in driver.current_url, "the new execution's page")
    until(lambda: len(statuses(driver)) == 4, "the graph")
    driver.execute_script("window.__sameDocument = true")  # gone if the page reloads
    seen: list[dict[str, str]] = []

    def all_green() -> bool:
        seen.append(statuses(driver))
        return all(seen[-1][t] == "SUCCEEDED" for t in TASKS)
    until(all_green, "every task to turn green")
    assert any(s["prepare"] in ("RUNNING", "SCHEDULED") for s in seen), seen[:3]  # watched, not just loaded
    assert any(s["finish"] == "WAITING" for s in seen)
    assert driver.execute_script("return window.__sameDocument === true")
    until(lambda: text(driver, "#head .badge") == "SUCCEEDED", "the SUCCEEDED badge")
    arn = driver.execute_script("return document.body.dataset.arn")
    assert service.store.execution(arn).input == {"day": 1}

    # A failed run opens on its failing task and that task's last log lines.
    (project / "ok").unlink()
    failed = service.start_execution({"stateMachineArn": service.served_workflows()[0].state_machine_arn,
                                      "name": "will-fail"})["executionArn"]
    service.wait(failed, 60)
    driver.get(url + "/executions/" + failed)
    until(lambda: "missing file: ok" in text(driver, "#failed-log"), "the failed task's log lines")
    assert text(driver, "#failure h2") == "Failed task: right"
    until(lambda: "missing file: ok" in text(driver, "#task-log"), "the task panel's log")
    assert statuses(driver)["right"] == "CAUGHT" and statuses(driver)["prepare"] == "SUCCEEDED"

    # Redrive from the page (RedriveExecution): the failed task runs again and the run succeeds.
    (project / "ok").write_text("")
    driver.execute_script("window.__sameDocument = true")
    driver.find_element(By.CSS_SELECTOR, '[data-act="redrive"]').click()
    until(lambda: text(driver, "#head .badge") == "SUCCEEDED", "the redriven run to succeed")
    until(lambda: all(v == "SUCCEEDED" for v in statuses(driver).values()), "every task green after the redrive")
    assert driver.execute_script("return window.__sameDocument === true")
    assert service.store.execution(failed).redrive_count == 1
    assert text(driver, "#failed-log") == ""

    # Stop a running one (StopExecution): ABORTED, and its job is not left running.
    slow = service.start_execution({"stateMachineArn": service.served_workflows()[1].state_machine_arn,
                                    "name": "to-stop"})["executionArn"]
    driver.get(url + "/executions/" + slow)
    until(lambda: statuses(driver).get("sleepy") == "RUNNING", "the slow task to run")
    driver.execute_script("document.querySelector('g.node[data-name=\"sleepy\"]')"
                          ".dispatchEvent(new MouseEvent('click', {bubbles: true}))")
    until(lambda: "sleeping" in text(driver, "#task-log"), "the running task's log, tailed live")
    driver.find_element(By.CSS_SELECTOR, '[data-act="stop"]').click()
    until(lambda: text(driver, "#head .badge") == "ABORTED", "the ABORTED badge")
    assert service.store.execution(slow).status == "ABORTED"
    until(lambda: all(j["status"] in ("FAILED", "SUCCEEDED") for j in service.store.jobs(slow)), "the job to stop", 30)


def test_executions_page_filters_and_links(console: tuple[Any, str, Any, Path]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver, url, service, project = console
    (project / "ok").write_text("")
    demo, slow = (s.state_machine_arn for s in service.served_workflows())
    done = service.start_execution({"stateMachineArn": demo, "name": "first-ok"})["executionArn"]
    service.wait(done, 60)
    driver.get(url + "/executions?workflow=demo&status=SUCCEEDED")
    until(lambda: driver.find_elements(By.CSS_SELECTOR, "tr[data-arn]"), "the filtered list")
    assert Select(driver.find_element(By.NAME, "status")).first_selected_option.text == "SUCCEEDED"
    rows = driver.execute_script("return Array.from(document.querySelectorAll('tr[data-arn]')).map(r => r.dataset.arn)")
    assert rows == [done]
    # Live: a run started elsewhere shows up without a reload.
    Select(driver.find_element(By.NAME, "status")).select_by_visible_text("any")
    driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    other = service.start_execution({"stateMachineArn": demo, "name": "second"})["executionArn"]
    until(lambda: driver.find_elements(By.CSS_SELECTOR, f'tr[data-arn="{other}"]'), "the new run in the list", 20)
    assert "status=" not in driver.current_url and "workflow=demo" in driver.current_url
    until(lambda: driver.execute_script(  # clicked in the page's own turn: the list redraws as it polls
        "const a = Array.from(document.querySelectorAll('tr[data-arn] a')).find(a => a.textContent === 'first-ok');"
        " if (a) { a.click(); return true; } return false;"), "the link to click")
    until(lambda: driver.current_url.endswith(done), "the execution page")
    service.wait(other, 60)
