"""Step Functions Local's MockConfigFile: every kind of Task answered by its mock, never sent on.

Ported in the style of AWS's Step Functions Local mock suites: one machine, one MockConfigFile
with several test cases (happy path, retry path, hybrid path, failures), each run end to end.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engine import TaskCall
from orchestrator.local import execute
from orchestrator.local.mocks import MockConfig, MockConfigError

sys.path.insert(0, str(Path(__file__).resolve().parent / "conformance"))
import recorded  # noqa: E402

# One Task of every kind Step Functions can call; Parameters name real-looking resources, so an
# unmocked call would be an access error, never a silent success.
EVERY_KIND: dict[str, Any] = {
    "StartAt": "Invoke",
    "States": {
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": "score", "Payload.$": "$"}, "ResultPath": "$.invoke",
                   "Next": "Send"},
        "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                 "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/orders",
                                "MessageBody.$": "$.order"}, "ResultPath": "$.send", "Next": "Put"},
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": "orders", "Item": {"id": {"S.$": "$.order"}}},
                "ResultPath": "$.put", "Next": "Publish"},
        "Publish": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
                    "Parameters": {"Entries": [{"Source": "shop", "DetailType": "order", "Detail": {}}]},
                    "ResultPath": "$.events", "Next": "Sentiment"},
        "Sentiment": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:comprehend:detectSentiment",
                      "Parameters": {"LanguageCode": "en", "Text": "great"}, "ResultSelector": {
                          "sentiment.$": "$.Sentiment"}, "ResultPath": "$.sentiment", "Next": "Job"},
        "Job": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync",
                "Parameters": {"JobName": "report", "JobQueue": "q", "JobDefinition": "d"},
                "ResultSelector": {"status.$": "$.Status"}, "ResultPath": "$.job", "Next": "Approve"},
        "Approve": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/approvals",
                                   "MessageBody": {"token.$": "$$.Task.Token"}},
                    "ResultPath": "$.approval", "Next": "Legacy"},
        "Legacy": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:legacy",
                   "ResultPath": "$.legacy", "Next": "Worker"},
        "Worker": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:pack",
                   "ResultPath": "$.worker", "Next": "Child"},
        "Child": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                  "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:child",
                                 "Input": {}},
                  "ResultSelector": {"out.$": "$.Output"}, "ResultPath": "$.child", "End": True}}}
ALL_STATES = ["Invoke", "Send", "Put", "Publish", "Sentiment", "Job", "Approve", "Legacy", "Worker", "Child"]

RESPONSES: dict[str, Any] = {
    "InvokeOk": {"0": {"Return": {"StatusCode": 200, "Payload": {"score": 7}}}},
    "SendOk": {"0": {"Return": {"MessageId": "m-1", "MD5OfMessageBody": "x"}}},
    "PutOk": {"0": {"Return": {}}},
    "EventsOk": {"0": {"Return": {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]}}},
    "SentimentOk": {"0": {"Return": {"Sentiment": "POSITIVE"}}},
    "JobOk": {"0": {"Return": {"JobId": "j-1", "Status": "SUCCEEDED"}}},
    "Approved": {"0": {"Return": {"approved": True}}},
    "LegacyOk": {"0": {"Return": {"StatusCode": 200, "Payload": "legacy done"}}},
    "Packed": {"0": {"Return": {"boxes": 2}}},
    "ChildOk": {"0": {"Return": {"Status": "SUCCEEDED", "Output": {"n": 1}}}},
    "SentimentThrottled": {"0": {"Throw": {"Error": "Comprehend.ThrottlingException", "Cause": "Rate exceeded"}}},
    "Rejected": {"0": {"Throw": {"Error": "Approval.Rejected", "Cause": "no budget"}}},
}
HAPPY = {"Invoke": "InvokeOk", "Send": "SendOk", "Put": "PutOk", "Publish": "EventsOk", "Sentiment": "SentimentOk",
         "Job": "JobOk", "Approve": "Approved", "Legacy": "LegacyOk", "Worker": "Packed", "Child": "ChildOk"}
CONFIG: dict[str, Any] = {
    "StateMachines": {"EveryKind": {"TestCases": {
        "HappyPath": HAPPY,
        "SentimentThrottled": {**HAPPY, "Sentiment": "SentimentThrottled"},
        "Rejected": {**HAPPY, "Approve": "Rejected"},
        "HybridPath": {k: v for k, v in HAPPY.items() if k != "Send"}}}},
    "MockedResponses": RESPONSES}


def run_case(test_case: str, definition: dict[str, Any] | None = None, config: dict[str, Any] | None = None,
             **kwargs: Any) -> Any:
    return execute(definition or EVERY_KIND, {"order": "o-1"}, virtual_time=True, mock_config=config or CONFIG,
                   test_case=test_case, state_machine="EveryKind", **kwargs)


def events_of(run: Any, state: str) -> list[str]:
    """The event types between ``state``'s Entered and Exited events."""
    out: list[str] = []
    inside = False
    for event in run.history:
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails") or {}
        if event["type"].endswith("StateEntered") and details.get("name") == state:
            inside = True
            continue
        if inside and event["type"].endswith("StateExited"):
            return out
        if inside:
            out.append(event["type"])
    return out


# -- every kind of Task ------------------------------------------------------------------------


def test_happy_path_answers_every_kind_of_task_from_its_mock() -> None:
    run = run_case("HappyPath")
    assert run.status == "SUCCEEDED", run.cause
    out = run.output
    assert out["invoke"] == {"StatusCode": 200, "Payload": {"score": 7}}
    assert out["send"] == {"MessageId": "m-1", "MD5OfMessageBody": "x"}
    assert out["put"] == {}
    assert out["events"]["Entries"] == [{"EventId": "e-1"}]
    assert out["sentiment"] == {"sentiment": "POSITIVE"}
    assert out["job"] == {"status": "SUCCEEDED"}
    assert out["approval"] == {"approved": True}
    assert out["legacy"] == "legacy done"  # a Lambda function ARN: the mocked Invoke response's Payload
    assert out["worker"] == {"boxes": 2}
    assert out["child"] == {"out": {"n": 1}}


def test_mocked_tasks_record_the_events_aws_records_for_their_pattern() -> None:
    run = run_case("HappyPath")
    request_response = ["TaskScheduled", "TaskStarted", "TaskSucceeded"]
    for state in ("Invoke", "Send", "Put", "Publish", "Sentiment"):
        assert events_of(run, state) == request_response, state
    for state in ("Job", "Approve", "Child"):
        assert events_of(run, state) == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"], state
    assert events_of(run, "Legacy") == ["LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded"]
    assert events_of(run, "Worker") == ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"]
    scheduled = [e["taskScheduledEventDetails"] for e in run.history if e["type"] == "TaskScheduled"]
    assert [(d["resourceType"], d["resource"]) for d in scheduled] == [
        ("lambda", "invoke"), ("sqs", "sendMessage"), ("dynamodb", "putItem"), ("events", "putEvents"),
        ("aws-sdk:comprehend", "detectSentiment"), ("batch", "submitJob.sync"),
        ("sqs", "sendMessage.waitForTaskToken"), ("states", "startExecution.sync:2")]
    submitted = {e["taskSubmittedEventDetails"]["resource"]: json.loads(e["taskSubmittedEventDetails"]["output"])
                 for e in run.history if e["type"] == "TaskSubmitted"}
    assert submitted == {"submitJob.sync": {"JobId": "j-1", "Status": "SUCCEEDED"},
                         "sendMessage.waitForTaskToken": {},
                         "startExecution.sync:2": {"Status": "SUCCEEDED", "Output": {"n": 1}}}


def test_a_mocked_state_is_never_sent_to_its_service() -> None:
    sent: list[str] = []

    def service(call: TaskCall) -> Any:
        sent.append(call.state_name)
        return {"from": "service"}

    run = run_case("HappyPath", integrations={"*": service, "lambda:invoke": service, "batch:submitJob": service,
                                              "activity": service, "states:startExecution": service})
    assert run.status == "SUCCEEDED", run.cause
    assert sent == []


def test_hybrid_path_sends_the_unmocked_state_on_and_mocks_the_rest() -> None:
    sent: list[str] = []

    def sqs(call: TaskCall) -> Any:
        sent.append(call.state_name)
        return {"MessageId": "real"}

    run = run_case("HybridPath", integrations={"*": sqs})
    assert run.status == "SUCCEEDED", run.cause
    assert sent == ["Send"]
    assert run.output["send"] == {"MessageId": "real"}


def test_an_unmocked_state_with_no_service_fails_as_aws_does_without_permissions() -> None:
    run = run_case("HybridPath")
    assert (run.status, run.error) == ("FAILED", "SQS.AmazonSQSException")
    assert "is not authorized to perform: sqs:SendMessage on resource: " \
           "https://sqs.us-east-1.amazonaws.com/123456789012/orders" in str(run.cause)


# -- Throw -------------------------------------------------------------------------------------


CATCHING = {"StartAt": "Sentiment", "States": {
    "Sentiment": {**EVERY_KIND["States"]["Sentiment"], "Next": "Approve",
                  "Catch": [{"ErrorEquals": ["Comprehend.ThrottlingException"], "ResultPath": "$.error",
                             "Next": "Throttled"}]},
    "Approve": {**{k: v for k, v in EVERY_KIND["States"]["Approve"].items() if k != "Next"}, "End": True,
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Refused"}]},
    "Throttled": {"Type": "Pass", "End": True},
    "Refused": {"Type": "Pass", "End": True}}}
CATCH_CONFIG = {"StateMachines": {"EveryKind": {"TestCases": {
    "SentimentThrottled": {"Sentiment": "SentimentThrottled", "Approve": "Approved"},
    "Rejected": {"Sentiment": "SentimentOk", "Approve": "Rejected"}}}}, "MockedResponses": RESPONSES}


def test_throw_fails_an_sdk_task_with_its_error_and_cause_for_catch() -> None:
    run = run_case("SentimentThrottled", CATCHING, CATCH_CONFIG)
    assert run.status == "SUCCEEDED"
    assert run.output["error"] == {"Error": "Comprehend.ThrottlingException", "Cause": "Rate exceeded"}
    assert events_of(run, "Sentiment") == ["TaskScheduled", "TaskStarted", "TaskFailed"]
    failed = next(e for e in run.history if e["type"] == "TaskFailed")["taskFailedEventDetails"]
    assert failed == {"resourceType": "aws-sdk:comprehend", "resource": "detectSentiment",
                      "error": "Comprehend.ThrottlingException", "cause": "Rate exceeded"}


def test_throw_on_a_callback_task_is_its_send_task_failure() -> None:
    run = run_case("Rejected", CATCHING, CATCH_CONFIG)
    assert run.status == "SUCCEEDED"
    assert run.output["error"] == {"Error": "Approval.Rejected", "Cause": "no budget"}
    # The message was sent (TaskSubmitted), then the token was failed: as AWS records it.
    assert events_of(run, "Approve") == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskFailed"]


def test_an_uncaught_throw_fails_the_execution() -> None:
    run = run_case("SentimentThrottled")
    assert (run.status, run.error, run.cause) == ("FAILED", "Comprehend.ThrottlingException", "Rate exceeded")


# -- invocation numbers: ranges, retries, loops, past the last key -------------------------------


RETRYING = {"StartAt": "LambdaState", "States": {
    "LambdaState": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "HelloWorldFunction", "Payload.$": "$"},
                    "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 3,
                               "BackoffRate": 2}],
                    "Next": "SQSState"},
    "SQSState": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                 "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                                "MessageBody.$": "$"}, "End": True}}}
# AWS's own example: the LambdaSQSIntegration machine and its three test cases.
AWS_EXAMPLE: dict[str, Any] = {
    "StateMachines": {"LambdaSQSIntegration": {"TestCases": {
        "HappyPath": {"LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess"},
        "RetryPath": {"LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess"},
        "HybridPath": {"LambdaState": "MockedLambdaSuccess"},
        "OutOfResponses": {"LambdaState": "MockedLambdaTwoFailures", "SQSState": "MockedSQSSuccess"}}}},
    "MockedResponses": {
        "MockedLambdaSuccess": {"0": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200,
                                                                               "body": "Hello from Lambda!"}}}},
        "MockedSQSSuccess": {"0": {"Return": {"MD5OfMessageBody": "3bcb6e8e", "MessageId": "3bcb6e8e-8b51"}}},
        "MockedLambdaRetry": {
            "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}},
            "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}},
            "3": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}},
        "MockedLambdaTwoFailures": {
            "0-1": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}}}}}


def aws_example(test_case: str, **kwargs: Any) -> Any:
    return execute(RETRYING, {"n": 1}, virtual_time=True, mock_config=AWS_EXAMPLE, test_case=test_case,
                   state_machine="LambdaSQSIntegration", **kwargs)


def test_aws_example_happy_path() -> None:
    run = aws_example("HappyPath")
    assert (run.status, run.output) == ("SUCCEEDED", {"MD5OfMessageBody": "3bcb6e8e", "MessageId": "3bcb6e8e-8b51"})


def test_retries_consume_mocked_responses_in_order_across_ranges() -> None:
    run = aws_example("RetryPath")
    assert run.status == "SUCCEEDED", run.cause
    failures = [(e["taskFailedEventDetails"]["error"]) for e in run.history if e["type"] == "TaskFailed"]
    assert failures == ["Lambda.ResourceNotReadyException", "Lambda.TimeoutException", "Lambda.TimeoutException"]
    assert [e["type"] for e in run.history].count("TaskScheduled") == 5  # 4 Lambda attempts, 1 SQS


def test_an_invocation_past_the_last_key_fails_the_execution_with_states_runtime() -> None:
    run = aws_example("OutOfResponses")
    assert (run.status, run.error) == ("FAILED", "States.Runtime")
    assert run.cause == (
        "An error occurred while executing the state 'LambdaState' (entered at the event id #2). "
        "State 'LambdaState' was invoked 3 time(s), but the mocked response 'MockedLambdaTwoFailures' of test "
        "case 'OutOfResponses' has no response for invocation 2 (keys: \"0-1\"). Add a key covering \"2\" to "
        "MockedResponses.MockedLambdaTwoFailures in <mock config>.")
    # The retrier on States.ALL does not retry it: States.Runtime is terminal.
    assert [e["type"] for e in run.history].count("TaskScheduled") == 3


def test_a_gap_between_keys_is_past_the_responses_too() -> None:
    config = {"StateMachines": {"M": {"TestCases": {"T": {"LambdaState": "Gap"}}}},
              "MockedResponses": {"Gap": {"1": {"Return": {}}}}}
    run = execute(RETRYING, {}, virtual_time=True, mock_config=config, test_case="T")
    assert (run.status, run.error) == ("FAILED", "States.Runtime")
    assert "has no response for invocation 0 (keys: \"1\")" in str(run.cause)


LOOP = {"QueryLanguage": "JSONata", "StartAt": "Poll", "States": {
    "Poll": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ec2:describeInstances",
             "Arguments": {"InstanceIds": ["i-1"]},
             "Assign": {"state": "{% $states.result.Reservations[0].Instances[0].State.Name %}"},
             "Next": "Running?"},
    "Running?": {"Type": "Choice", "Choices": [{"Condition": "{% $state = 'running' %}", "Next": "Done"}],
                 "Default": "Wait"},
    "Wait": {"Type": "Wait", "Seconds": 30, "Next": "Poll"},
    "Done": {"Type": "Succeed"}}}


def test_a_state_entered_again_in_a_loop_takes_the_next_response() -> None:
    def instance(state: str) -> dict[str, Any]:
        return {"Return": {"Reservations": [{"Instances": [{"State": {"Name": state}}]}]}}

    config = {"StateMachines": {"Poller": {"TestCases": {"Boot": {"Poll": "Booting"}}}},
              "MockedResponses": {"Booting": {"0-1": instance("pending"), "2": instance("running")}}}
    run = execute(LOOP, {}, virtual_time=True, mock_config=config, test_case="Boot")
    assert run.status == "SUCCEEDED", run.cause
    assert [e["type"] for e in run.history].count("TaskSucceeded") == 3
    assert [e["type"] for e in run.history].count("WaitStateEntered") == 2


# -- Map and Parallel --------------------------------------------------------------------------


MAP_AND_PARALLEL = {"StartAt": "Each", "States": {
    "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1, "ResultPath": "$.results",
             "ItemProcessor": {"StartAt": "Score", "States": {
                 "Score": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                           "Parameters": {"FunctionName": "score", "Payload.$": "$"},
                           "OutputPath": "$.Payload",
                           "Catch": [{"ErrorEquals": ["Lambda.AWSLambdaException"], "Next": "Skipped"}],
                           "End": True},
                 "Skipped": {"Type": "Pass", "Result": "skipped", "End": True}}},
             "Next": "Both"},
    "Both": {"Type": "Parallel", "ResultPath": "$.both", "End": True, "Branches": [
        {"StartAt": "Store", "States": {"Store": {
            "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "t", "Item": {}}, "End": True}}},
        {"StartAt": "Notify", "States": {"Notify": {
            "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sns:publish",
            "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "m"}, "End": True}}}]}}}
MAP_CONFIG = {
    "StateMachines": {"Batcher": {"TestCases": {"SecondFails": {
        "Score": "FirstScoresThenFails", "Store": "Stored", "Notify": "Notified"}}}},
    "MockedResponses": {
        "FirstScoresThenFails": {"0": {"Return": {"StatusCode": 200, "Payload": 10}},
                                 "1-3": {"Throw": {"Error": "Lambda.AWSLambdaException", "Cause": "boom"}}},
        "Stored": {"0": {"Return": {}}},
        "Notified": {"0": {"Return": {"MessageId": "n-1"}}}}}


def test_map_iterations_and_parallel_branches_share_one_counter_per_state() -> None:
    run = execute(MAP_AND_PARALLEL, {"items": [1, 2, 3]}, virtual_time=True, mock_config=MAP_CONFIG,
                  test_case="SecondFails")
    assert run.status == "SUCCEEDED", run.cause
    assert run.output["results"] == [10, "skipped", "skipped"]
    assert run.output["both"] == [{}, {"MessageId": "n-1"}]


# -- AWS's sales-lead sample, test case by test case ------------------------------------------------


SALES = Path(__file__).resolve().parent / "fixtures" / "sfn_local"


def sales_lead(test_case: str) -> Any:
    return execute((SALES / "LocalTesting.asl.json").read_text(), json.loads((SALES / "input.json").read_text()),
                   virtual_time=True, mock_config=SALES / "MockConfigFile.json", test_case=test_case,
                   state_machine="LocalTesting")


def exited(run: Any) -> list[str]:
    return [e["stateExitedEventDetails"]["name"] for e in run.history if e["type"].endswith("StateExited")]


@pytest.mark.parametrize(("test_case", "last_state"), [
    ("HappyPathTest", "CustomerAddedToFollowup"),
    ("NegativeSentimentTest", "NegativeSentimentDetected"),
    ("CustomValidationFailedCatchTest", "CustomValidationFailed"),
    ("ValidationExceptionCatchTest", "ValidationException"),
    ("RetryOnServiceExceptionTest", "CustomerAddedToFollowup"),
])
def test_sales_lead_sample_takes_the_path_each_test_case_mocks(test_case: str, last_state: str) -> None:
    run = sales_lead(test_case)
    assert run.status == "SUCCEEDED", run.cause
    assert exited(run)[-1] == last_state
    assert exited(run).count(last_state) == 1


def test_sales_lead_retries_consume_the_mocked_throws_before_the_return() -> None:
    run = sales_lead("RetryOnServiceExceptionTest")
    failures = [e["taskFailedEventDetails"] for e in run.history if e["type"] == "TaskFailed"]
    assert [(f["resource"], f["error"]) for f in failures] == [("detectSentiment", "InternalServerException")] * 3
    assert run.output == {"Entries": [{"EventId": "e-1"}], "FailedEntryCount": 0}
    # The custom validation error is retried three times inside the branch, then caught by the Parallel.
    caught = sales_lead("CustomValidationFailedCatchTest")
    assert [e["type"] for e in caught.history].count("TaskFailed") == 4


# -- the recorded corpus's mocked cases ---------------------------------------------------------


@pytest.mark.parametrize("case", recorded.mocked_cases(), ids=recorded.short_id)
def test_recorded_mocked_cases_run_through_the_mock_config(case: dict[str, Any]) -> None:
    """Step Functions Local-style cases (recorded on AWS, replayed with their MockConfigFile)."""
    run = execute(case["definition"], case["input"], virtual_time=True, mock_config=case["mock_config"],
                  test_case=case["mock_test_case"], start_time=recorded.recorded_start(case),
                  express=case.get("state_machine_type") == "EXPRESS")
    assert run.status == case["expected"]["status"], run.cause
    if case["expected"].get("n_events") is not None:
        assert len(run.history) == case["expected"]["n_events"]


# -- bad mock files ------------------------------------------------------------------------------


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "MockConfigFile.json"
    path.write_text(content)
    return path


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MockConfigError, match=r"missing.json: cannot read the mock config: No such file"):
        MockConfig.load(tmp_path / "missing.json")


def test_invalid_json_is_named_with_its_position(tmp_path: Path) -> None:
    path = write(tmp_path, '{"StateMachines": ')
    with pytest.raises(MockConfigError, match=r"MockConfigFile.json: not valid JSON: Expecting value: line 1 "):
        MockConfig.load(path)


@pytest.mark.parametrize(("document", "message"), [
    ({"MockedResponses": {}}, 'expected an object with "StateMachines" and "MockedResponses"'),
    ({"StateMachines": {"M": {}}}, 'StateMachines.M needs a "TestCases" object'),
    ({"StateMachines": {"M": {"TestCases": {"T": {"S": 1}}}}},
     'StateMachines.M.TestCases.T maps each state name to the name of a mocked response, '
     'e.g. {"LambdaState": "MockedLambdaSuccess"}'),
    ({"StateMachines": {}, "MockedResponses": {"R": {"first": {"Return": 1}}}},
     "MockedResponses.R: response key 'first' is not an invocation number or range; "
     'use "0" for the first invocation or "1-2" for the second and third.'),
    ({"StateMachines": {}, "MockedResponses": {"R": {"2-1": {"Return": 1}}}},
     "response key '2-1' is not an invocation number or range"),
    ({"StateMachines": {}, "MockedResponses": {"R": {"0": {"Return": 1, "Throw": {}}}}},
     'MockedResponses.R.0: a response has exactly one field, "Return" or "Throw"'),
    ({"StateMachines": {}, "MockedResponses": {"R": {"0": {"Retrun": 1}}}},
     'MockedResponses.R.0: a response has exactly one field, "Return" or "Throw", got {"Retrun": 1}'),
    ({"StateMachines": {}, "MockedResponses": {"R": [{"Return": 1}]}},
     "MockedResponses.R: expected an object of responses keyed by invocation, e.g. "),
    ({"StateMachines": {}, "MockedResponses": {"R": {"0": {"Throw": {"Cause": "x"}}}}},
     'MockedResponses.R.0: "Throw" takes a string "Error" and a string "Cause"'),
    ({"StateMachines": {}, "MockedResponses": {"R": {"0-2": {"Return": 1}, "2": {"Return": 2}}}},
     "MockedResponses.R: invocation 2 has more than one response; ranges must not overlap."),
])
def test_a_malformed_file_names_the_place_and_the_fix(tmp_path: Path, document: dict[str, Any], message: str) -> None:
    with pytest.raises(MockConfigError, match=r"^.*MockConfigFile.json: .*" + _escape(message)):
        MockConfig.load(write(tmp_path, json.dumps(document)))


def _escape(text: str) -> str:
    import re

    return re.escape(text)


def test_an_unknown_test_case_lists_the_defined_ones(tmp_path: Path) -> None:
    config = MockConfig.load(write(tmp_path, json.dumps(AWS_EXAMPLE)))
    with pytest.raises(MockConfigError, match=_escape(
            f"{tmp_path / 'MockConfigFile.json'}: no test case 'SadPath' for state machine 'LambdaSQSIntegration' "
            "(defined: LambdaSQSIntegration/HappyPath, LambdaSQSIntegration/RetryPath, LambdaSQSIntegration/HybridPath, "
            "LambdaSQSIntegration/OutOfResponses); add it under StateMachines.LambdaSQSIntegration.TestCases.")):
        config.case("LambdaSQSIntegration", "SadPath")


def test_a_test_case_naming_a_missing_response_says_which(tmp_path: Path) -> None:
    document = {"StateMachines": {"M": {"TestCases": {"T": {"LambdaState": "Nope"}}}},
                "MockedResponses": {"Yes": {"0": {"Return": 1}}}}
    with pytest.raises(MockConfigError, match=_escape(
            "MockConfigFile.json: test case 'T' maps state 'LambdaState' to 'Nope', which is not in "
            "MockedResponses (defined: Yes); add MockedResponses.Nope, e.g. {\"0\":")):
        execute(RETRYING, {}, mock_config=write(tmp_path, json.dumps(document)), test_case="T")


def test_a_test_case_mocking_a_state_the_machine_lacks_is_an_error(tmp_path: Path) -> None:
    document = {"StateMachines": {"M": {"TestCases": {"T": {"LambdaStat": "Yes"}}}},
                "MockedResponses": {"Yes": {"0": {"Return": 1}}}}
    with pytest.raises(MockConfigError, match=_escape(
            "MockConfigFile.json: test case 'T' mocks 'LambdaStat', which is not a Task state of 'M' "
            "(Task states: LambdaState, SQSState); correct the state name in StateMachines.M.TestCases.T.")):
        execute(RETRYING, {}, mock_config=write(tmp_path, json.dumps(document)), test_case="T", state_machine="M")


def test_a_test_case_without_a_mock_config_or_the_reverse_is_an_error() -> None:
    with pytest.raises(Exception, match=r"A test case needs a mock config: pass --mock-config FILE with --test-case "
                                        r"\(or set SFN_MOCK_CONFIG=FILE\)."):
        execute(RETRYING, {}, test_case="T")
    with pytest.raises(Exception, match=r"<mock config>: name the test case to use \(--test-case NAME\)."):
        execute(RETRYING, {}, mock_config=AWS_EXAMPLE)


def test_an_empty_response_is_accepted_until_a_state_needs_it() -> None:
    # Step Functions Local resolves a response when the state runs: a generated file may hold one.
    config = {"StateMachines": {"M": {"TestCases": {"T": {"SQSState": "Nothing", "LambdaState": "Ok"}}}},
              "MockedResponses": {"Nothing": {}, "Ok": {"0": {"Return": {}}}}}
    run = execute(RETRYING, {}, virtual_time=True, mock_config=config, test_case="T")
    assert (run.status, run.error) == ("FAILED", "States.Runtime")
    assert "'Nothing' of test case 'T' has no response for invocation 0 (keys: none)" in str(run.cause)


def test_doctests() -> None:
    import doctest

    from orchestrator.local import environment, mocks, plain

    for module in (mocks, plain, environment):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
