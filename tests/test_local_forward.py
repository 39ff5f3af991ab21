"""``--aws-endpoint``: unmocked calls of a plain ASL machine go to a moto server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from orchestrator.local import run_definition
from orchestrator.local.forward import EndpointError, botocore_service, error_prefix

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path / ".orchestrator"))
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    return tmp_path


def client(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def machine(queue_url: str, table: str, topic_arn: str) -> dict[str, Any]:
    return {"StartAt": "Put", "States": {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": table, "Item": {"id": {"S.$": "$.order"}, "total": {"N": "12"}}},
                "ResultPath": None, "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
                "Parameters": {"TableName": table, "Key": {"id": {"S.$": "$.order"}}},
                "ResultSelector": {"total.$": "$.Item.total.N"}, "ResultPath": "$.stored", "Next": "Score"},
        "Score": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:comprehend:detectSentiment",
                  "Parameters": {"LanguageCode": "en", "Text": "great"},
                  "ResultSelector": {"s.$": "$.Sentiment"}, "ResultPath": "$.score", "Next": "Send"},
        "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                 "Parameters": {"QueueUrl": queue_url, "MessageBody": {"order.$": "$.order", "total.$": "$.stored.total"}},
                 "ResultSelector": {"id.$": "$.MessageId"}, "ResultPath": "$.sent", "Next": "Publish"},
        "Publish": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                    "Parameters": {"TopicArn": topic_arn, "Message": "shipped"},
                    "ResultPath": "$.published", "Next": "Lookup"},
        "Lookup": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:getQueueUrl",
                   "Parameters": {"QueueName": "no-such-queue"},
                   "Catch": [{"ErrorEquals": ["Sqs.QueueDoesNotExistException"], "ResultPath": "$.missing",
                              "Next": "Done"}], "Next": "Done"},
        "Done": {"Type": "Succeed"}}}


MOCKS = {"StateMachines": {"shop": {"TestCases": {"Mixed": {"Score": "Positive"}}}},
         "MockedResponses": {"Positive": {"0": {"Return": {"Sentiment": "POSITIVE"}}}}}


@pytest.fixture()
def resources(endpoint: str) -> dict[str, str]:
    sqs, dynamodb, sns = client(endpoint, "sqs"), client(endpoint, "dynamodb"), client(endpoint, "sns")
    queue_url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    table = "orders"
    if table not in dynamodb.list_tables()["TableNames"]:
        dynamodb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                              BillingMode="PAY_PER_REQUEST")
    topic_arn = sns.create_topic(Name="shipments")["TopicArn"]
    return {"queue_url": queue_url, "table": table, "topic_arn": topic_arn}


def test_mocks_and_an_emulated_endpoint_mix_in_one_run(project: Path, endpoint: str,
                                                        resources: dict[str, str]) -> None:
    result = run_definition(machine(**resources), {"order": "o-7"}, name="shop", mock_config=MOCKS,
                            test_case="Mixed", aws_endpoint=endpoint)
    assert result.status == "SUCCEEDED", result.cause
    out = result.output
    assert out["stored"] == {"total": "12"}  # written by the optimised putItem, read by aws-sdk getItem
    assert out["score"] == {"s": "POSITIVE"}  # mocked: moto never saw it
    assert out["published"]["MessageId"]
    assert out["missing"]["Error"] == "Sqs.QueueDoesNotExistException"
    assert "(Service: Sqs; Status Code: 400; Error Code:" in out["missing"]["Cause"]
    messages = client(endpoint, "sqs").receive_message(QueueUrl=resources["queue_url"])["Messages"]
    assert [json.loads(m["Body"]) for m in messages] == [{"order": "o-7", "total": "12"}]
    assert messages[0]["MessageId"] == out["sent"]["id"]


def test_an_sdk_answer_comes_back_in_pascal_case_with_iso_timestamps(project: Path, endpoint: str) -> None:
    client(endpoint, "secretsmanager").create_secret(Name="db-password", SecretString="hunter2")
    definition = {"StartAt": "Read", "States": {"Read": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:secretsmanager:getSecretValue",
        "Parameters": {"SecretId": "db-password"}, "End": True}}}
    result = run_definition(definition, {}, name="secrets", aws_endpoint=endpoint)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["SecretString"] == "hunter2"
    assert result.output["Name"] == "db-password"
    assert result.output["CreatedDate"].endswith("Z") and "T" in result.output["CreatedDate"]


def test_a_service_botocore_does_not_know_fails_as_without_permissions(project: Path, endpoint: str) -> None:
    definition = {"StartAt": "X", "States": {"X": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:nosuchservice:doThing", "End": True}}}
    result = run_definition(definition, {}, name="unknown", aws_endpoint=endpoint)
    assert (result.status, result.error) == ("FAILED", "Nosuchservice.AccessDeniedException")


def test_an_unknown_action_is_named_with_an_example(project: Path, endpoint: str) -> None:
    definition = {"StartAt": "X", "States": {"X": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:sendMessages", "End": True}}}
    result = run_definition(definition, {}, name="typo", aws_endpoint=endpoint)
    assert (result.status, result.error) == ("FAILED", "Sqs.InvalidActionException")
    assert result.cause is not None and result.cause.startswith("The action 'sendMessages' is not an operation of sqs (SQS)")


def test_an_unreachable_endpoint_fails_the_task_not_the_runner(project: Path) -> None:
    definition = {"StartAt": "X", "States": {"X": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:listQueues", "End": True}}}
    result = run_definition(definition, {}, name="offline", aws_endpoint="http://127.0.0.1:9")
    assert (result.status, result.error) == ("FAILED", "Sqs.SdkClientException")
    assert "is the --aws-endpoint server running?" in str(result.cause)


def test_a_bad_endpoint_url_is_named_with_the_fix(project: Path) -> None:
    with pytest.raises(EndpointError, match=r"--aws-endpoint 'localhost:5000' is not an http\(s\) URL; "
                                            r"e.g. --aws-endpoint http://127.0.0.1:5000 for a moto server."):
        run_definition({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, aws_endpoint="localhost:5000")


def test_cli_forwards_with_aws_endpoint(project: Path, endpoint: str, resources: dict[str, str]) -> None:
    (project / "shop.asl.json").write_text(json.dumps(machine(**resources)))
    (project / "MockConfigFile.json").write_text(json.dumps(MOCKS))
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "run", "shop.asl.json", "--input",
                           '{"order": "o-8"}', "--mock-config", "MockConfigFile.json", "--test-case", "Mixed",
                           "--aws-endpoint", endpoint], cwd=project, env=dict(os.environ), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    item = client(endpoint, "dynamodb").get_item(TableName="orders", Key={"id": {"S": "o-8"}})["Item"]
    assert item["total"] == {"N": "12"}


def test_aws_endpoint_is_for_plain_machines_only(project: Path, endpoint: str) -> None:
    (project / "wf.yaml").write_text("name: wf\ntasks:\n  - name: a\n    batch: {image: 'alpine:3', command: [true]}\n")
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "run", "wf.yaml", "--aws-endpoint", endpoint],
                          cwd=project, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == ("error: --aws-endpoint is for plain ASL machines (*.asl.json); wf.yaml is a "
                                   "workflow, whose tasks run on the local Batch, Lambda and SNS.")


def test_names_follow_step_functions_conventions() -> None:
    assert [botocore_service(n) for n in ("cloudwatchlogs", "acmpca", "secretsmanager", "nosuch")] == [
        "logs", "acm-pca", "secretsmanager", None]
    assert [error_prefix(s) for s in ("SQS", "Secrets Manager", "EventBridge", "EC2")] == [
        "Sqs", "SecretsManager", "EventBridge", "Ec2"]


def test_doctests() -> None:
    import doctest

    from orchestrator.local import forward

    result = doctest.testmod(forward)
    assert result.attempted > 0 and result.failed == 0


def test_execute_forwards_with_aws_endpoint_too(endpoint: str) -> None:
    from orchestrator.local import execute

    queue_url = client(endpoint, "sqs").create_queue(QueueName="bare")["QueueUrl"]
    definition = {"StartAt": "Send", "States": {"Send": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": queue_url, "MessageBody": "hello"}, "End": True}}}
    run = execute(definition, {}, aws_endpoint=endpoint)
    assert run.status == "SUCCEEDED", run.cause
    assert [m["Body"] for m in client(endpoint, "sqs").receive_message(QueueUrl=queue_url)["Messages"]] == ["hello"]
