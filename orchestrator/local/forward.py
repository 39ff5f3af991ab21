"""``--aws-endpoint URL``: unmocked service calls of plain ASL machines sent, with botocore, elsewhere.

Step Functions Local sends an unmocked Task to the endpoint configured for its service
(``SQS_ENDPOINT``, ``DYNAMODB_ENDPOINT`` ...). Here one endpoint takes them all — a moto server,
LocalStack, or anything speaking the AWS protocols — so mocks and emulated services mix:

- every ``aws-sdk:<service>:<action>``: the service is found in botocore's models by the name
  Step Functions uses (``sfn``, ``eventbridge``, ``cloudwatchlogs`` are botocore's
  ``stepfunctions``, ``events``, ``logs``); parameters are matched to the operation's members
  without regard to case (Step Functions writes them in PascalCase), and the answer's members come
  back in PascalCase, timestamps as ISO-8601 text, as the AWS SDK integration returns them;
- the optimised ``sqs:sendMessage``, ``sns:publish``, ``events:putEvents`` and
  ``dynamodb:getItem|putItem|updateItem|deleteItem`` (a JSON ``MessageBody``, ``Message`` or
  ``Detail`` is sent as its JSON text, as Step Functions does).

A service error fails the attempt with Step Functions' error name: ``<Service>.<Error>Exception``
(``DynamoDb.ConditionalCheckFailedException`` for ``aws-sdk:dynamodb``, ``DynamoDB.…`` for the
optimised integration), so Retry and Catch written for AWS match. A call the endpoint cannot take
(an unknown service or action, an unreachable endpoint) fails the same way a service would, and
nothing is ever sent to real AWS unless the endpoint given is AWS.

    >>> botocore_service("eventbridge"), botocore_service("sfn"), botocore_service("sqs")
    ('events', 'stepfunctions', 'sqs')
    >>> error_prefix("DynamoDB"), error_prefix("ACM PCA"), error_prefix("S3")
    ('DynamoDb', 'AcmPca', 'S3')
"""

from __future__ import annotations

import base64
import functools
import json
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import botocore
import botocore.config
import botocore.exceptions
import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from orchestrator.engine.integrations import TaskCall, TaskFailure, unconfigured
from orchestrator.errors import OrchestratorError

# The optimised integrations forwarded: key → (botocore service, operation, error prefix, SDK name).
OPTIMISED = {
    "sqs:sendMessage": ("sqs", "SendMessage", "SQS", "AmazonSQS"),
    "sns:publish": ("sns", "Publish", "SNS", "AmazonSNS"),
    "events:putEvents": ("events", "PutEvents", "EventBridge", "AmazonEventBridge"),
    "dynamodb:getItem": ("dynamodb", "GetItem", "DynamoDB", "AmazonDynamoDBv2"),
    "dynamodb:putItem": ("dynamodb", "PutItem", "DynamoDB", "AmazonDynamoDBv2"),
    "dynamodb:updateItem": ("dynamodb", "UpdateItem", "DynamoDB", "AmazonDynamoDBv2"),
    "dynamodb:deleteItem": ("dynamodb", "DeleteItem", "DynamoDB", "AmazonDynamoDBv2"),
}
# Step Functions sends these JSON payloads as text (its "JSON as string" rule for these fields).
_AS_TEXT = {"sqs:sendMessage": ("MessageBody",), "sns:publish": ("Message",)}
# Fake credentials for an endpoint that checks none (moto, LocalStack), when none are configured.
_ANONYMOUS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class EndpointError(OrchestratorError):
    """``--aws-endpoint`` is not a usable URL."""


def check_endpoint(url: str) -> str:
    """``url`` if it is an http(s) URL with a host, else ``EndpointError`` with an example.

    >>> check_endpoint("http://127.0.0.1:5000")
    'http://127.0.0.1:5000'
    """
    if not re.match(r"^https?://[^/\s]+", url):
        raise EndpointError(f"--aws-endpoint {url!r} is not an http(s) URL; "
                            "e.g. --aws-endpoint http://127.0.0.1:5000 for a moto server.")
    return url


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


# Step Functions' names (the AWS SDK for Java 2 clients') that are not botocore's, once case and
# punctuation are ignored ("acm-pca" is "acmpca" either way).
_SDK_ALIASES = {"sfn": "stepfunctions", "eventbridge": "events", "cloudwatchlogs": "logs",
                "cognitoidentityprovider": "cognito-idp", "elasticloadbalancingv2": "elbv2",
                "elasticloadbalancing": "elb", "databasemigration": "dms", "costexplorer": "ce",
                "elasticsearch": "es", "sesv2": "sesv2", "applicationautoscaling": "application-autoscaling"}


@functools.cache
def _names() -> dict[str, str]:
    return {_normal(name): name for name in botocore.session.get_session().get_available_services()}


def botocore_service(sdk_name: str) -> str | None:
    """botocore's name for the service an ``aws-sdk:<name>:…`` Resource names (None if unknown)."""
    key = _normal(sdk_name)
    return _names().get(_normal(_SDK_ALIASES.get(key, key)))


def error_prefix(service_id: str) -> str:
    """The service part of an AWS SDK integration's error name: its service id in PascalCase."""
    words = re.split(r"[\s\-_]+", service_id.strip())
    # A run of capitals is one word ("DB", "SQS", "PCA"), as the AWS SDK for Java 2 names clients.
    return "".join(re.sub(r"[A-Z]{2,}(?![a-z])", lambda m: m.group(0).capitalize(), w[:1].upper() + w[1:])
                   for w in words if w)


def _to_model(value: Any, shape: Shape | None) -> Any:
    """Match Step Functions' PascalCase parameter names to the shape's members (any case)."""
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        members = {name.lower(): name for name in shape.members}
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = members.get(str(key).lower(), str(key))
            out[name] = _to_model(item, shape.members.get(name))
        return out
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_to_model(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, Mapping):
        return {key: _to_model(item, shape.value) for key, item in value.items()}
    return value


def _from_model(value: Any, shape: Shape | None) -> Any:
    """botocore's answer as Step Functions returns it: PascalCase members, JSON-clean values."""
    if isinstance(value, Mapping):
        if isinstance(shape, MapShape):
            return {key: _from_model(item, shape.value) for key, item in value.items()}
        members = shape.members if isinstance(shape, StructureShape) else {}
        return {(key[:1].upper() + key[1:]): _from_model(item, members.get(key))
                for key, item in value.items() if key != "ResponseMetadata"}
    if isinstance(value, list):
        return [_from_model(item, shape.member if isinstance(shape, ListShape) else None) for item in value]
    if isinstance(value, datetime):
        stamp = value.astimezone(UTC)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    if hasattr(value, "read"):  # a streaming body (S3 GetObject)
        value = value.read()
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    return value


def _operation(service: str, action: str) -> str | None:
    model = botocore.session.get_session().get_service_model(service)
    wanted = action.lower()
    return next((name for name in model.operation_names if name.lower() == wanted), None)


class Forwarder:
    """An integration (``"*"`` and the optimised keys) that calls ``endpoint_url`` with botocore."""

    def __init__(self, endpoint_url: str, *, region: str) -> None:
        self.endpoint_url = check_endpoint(endpoint_url)
        self.region = region
        self._session = botocore.session.get_session()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _client(self, service: str) -> Any:
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                credentials = {} if self._session.get_credentials() is not None else _ANONYMOUS
                config = botocore.config.Config(retries={"max_attempts": 2, "mode": "standard"},
                                                connect_timeout=5, read_timeout=60)
                client = self._session.create_client(service, region_name=self.region,
                                                     endpoint_url=self.endpoint_url, config=config, **credentials)
                self._clients[service] = client
            return client

    def __call__(self, call: TaskCall) -> Any:
        key = f"{call.service}:{call.action}"
        if call.service.startswith("aws-sdk:"):
            sdk_name = call.service.removeprefix("aws-sdk:")
            service = botocore_service(sdk_name)
            if service is None:
                raise unconfigured(call)
            model = self._session.get_service_model(service)
            operation = _operation(service, call.action)
            prefix = sdk = error_prefix(str(model.service_id))
            if operation is None:
                raise TaskFailure(f"{prefix}.InvalidActionException",
                                  f"The action {call.action!r} is not an operation of {sdk_name} "
                                  f"({model.service_id}); e.g. {model.operation_names[0][:1].lower()}"
                                  f"{model.operation_names[0][1:]}.")
            parameters = call.parameters if isinstance(call.parameters, Mapping) else {}
        elif key in OPTIMISED:
            service, operation, prefix, sdk = OPTIMISED[key]
            parameters = dict(call.parameters) if isinstance(call.parameters, Mapping) else {}
            for field in _AS_TEXT.get(key, ()):
                if field in parameters and not isinstance(parameters[field], str):
                    parameters[field] = json.dumps(parameters[field], separators=(",", ":"))
            if key == "events:putEvents":
                parameters["Entries"] = [
                    {**e, "Detail": e["Detail"] if isinstance(e.get("Detail"), str)
                     else json.dumps(e.get("Detail", {}), separators=(",", ":"))}
                    if isinstance(e, Mapping) else e for e in parameters.get("Entries") or []]
        else:
            raise unconfigured(call)
        return self._send(service, operation, parameters, prefix, sdk)

    def _send(self, service: str, operation: str, parameters: Mapping[str, Any], prefix: str, sdk: str) -> Any:
        client = self._client(service)
        op: OperationModel = client.meta.service_model.operation_model(operation)
        request = _to_model(dict(parameters), op.input_shape)
        try:
            response = getattr(client, botocore.xform_name(operation))(**request)
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error") or {}
            code = str(error.get("Code") or "Unknown")
            # The modeled error's name (botocore raises SQS's "AWS.SimpleQueueService.NonExistentQueue"
            # as QueueDoesNotExist), with the Exception suffix Step Functions always adds.
            modeled = type(exc).__name__
            shape = modeled if modeled != "ClientError" else code.rsplit(".", 1)[-1]
            name = shape if shape.endswith("Exception") else f"{shape}Exception"
            status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode", 400)
            request_id = (exc.response.get("ResponseMetadata") or {}).get("RequestId", "")
            raise TaskFailure(f"{prefix}.{name}", f"{error.get('Message') or code} (Service: {sdk}; Status Code: "
                                                  f"{status}; Error Code: {code}; Request ID: {request_id}; "
                                                  "Proxy: null)") from None
        except botocore.exceptions.ParamValidationError as exc:
            raise TaskFailure(f"{prefix}.ValidationException", str(exc).replace("\n", " ")) from None
        except botocore.exceptions.EndpointConnectionError as exc:
            raise TaskFailure(f"{prefix}.SdkClientException",
                              f"Unable to execute HTTP request: {exc} (is the --aws-endpoint server running?)") from None
        return _from_model(response, op.output_shape)
