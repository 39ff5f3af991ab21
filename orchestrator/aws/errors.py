"""AWS failures as ``OrchestratorError``: the operation, the resource, what AWS said, and the fix.

botocore raises ``ClientError`` (AWS answered no), ``NoCredentialsError``, ``NoRegionError`` and
``EndpointConnectionError`` (no answer at all). The CLI prints an ``OrchestratorError`` without a
traceback, so each becomes an :class:`AwsError` whose message says what to do next. Only these
botocore exceptions are translated: anything else (a ``ParamValidationError`` from a request this
package built, a ``KeyError`` in a response) is a bug here and keeps its traceback.

    >>> str(AwsError("StartExecution", "state machine 'x'", "no AWS credentials found",
    ...              fix="set AWS_PROFILE or run `aws configure`"))
    "StartExecution on state machine 'x' failed: no AWS credentials found\\n    fix: set AWS_PROFILE or run `aws configure`"
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from orchestrator.errors import OrchestratorError

INSTALL_HINT = "pip install 'sfn-orchestrator[aws]'"
CREDENTIALS_FIX = "set AWS_PROFILE or run `aws configure`"
REGION_FIX = "pass --region (e.g. --region eu-west-1) or set AWS_REGION"


class AwsError(OrchestratorError):
    """A call to AWS failed; ``code`` is AWS's error code when AWS answered (else None)."""

    def __init__(self, operation: str, resource: str, what: str, *, fix: str | None = None,
                 code: str | None = None) -> None:
        self.operation = operation
        self.resource = resource
        self.code = code
        self.fix = fix
        text = f"{operation} on {resource} failed: {what}" if resource else f"{operation} failed: {what}"
        if fix:
            text += f"\n    fix: {fix}"
        super().__init__(text)


class Boto3Missing(AwsError):
    """boto3 is an optional dependency (the ``aws`` extra); the AWS commands need it."""


class ArnError(AwsError):
    """A string given as an ARN is not one this package can use."""


class SubstitutionError(OrchestratorError):
    """Placeholders of a compiled definition have no deploy-time value; ``missing`` lists them."""

    def __init__(self, message: str, missing: tuple[str, ...]) -> None:
        self.missing = missing
        super().__init__(message)


def boto3_module() -> Any:
    """``import boto3``, or an :class:`AwsError` saying how to install it.

    Imported here, on first use, so that ``import orchestrator`` and every offline command work
    without boto3 installed.
    """
    try:
        import boto3
    except ImportError:
        raise Boto3Missing("import boto3", "", "boto3 is not installed; the AWS commands need it",
                           fix=INSTALL_HINT) from None
    return boto3


# What to do about an error code AWS returns. ``{resource}`` is filled in.
_FIXES: dict[str, str] = {
    "AccessDeniedException": "grant this identity the Step Functions permission for {operation} "
                             "(states:{operation}) on {resource}, or use another AWS_PROFILE",
    "UnrecognizedClientException": "the access key is not valid in this partition: " + CREDENTIALS_FIX,
    "InvalidSignatureException": "the secret key does not match the access key: " + CREDENTIALS_FIX,
    "ExpiredTokenException": "the session has expired: refresh it (e.g. `aws sso login`) or " + CREDENTIALS_FIX,
    "StateMachineDoesNotExist": "check the name, region and account, or deploy it first: "
                                "orchestrator deploy SPEC",
    "ExecutionDoesNotExist": "check the execution ARN and its region; list executions with "
                             "orchestrator aws executions list STATE_MACHINE",
    "ExecutionAlreadyExists": "execution names are unique per state machine for 90 days: choose another name",
    "ExecutionLimitExceeded": "too many executions are running (quota of 1,000,000 open executions): "
                              "wait or stop some",
    "ExecutionNotRedrivable": "only an execution that FAILED, TIMED_OUT or was ABORTED in the last 14 days, "
                              "and has not been redriven 1,000 times, can be redriven",
    "InvalidArn": "give a full ARN, e.g. arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME",
    "InvalidDefinition": "the definition was rejected by Step Functions: recompile it (orchestrator compile) "
                         "and check the substitutions",
    "InvalidName": "names are 1-80 characters of letters, digits, '-' and '_'",
    "InvalidExecutionInput": "the input must be a JSON text of at most 256 KiB",
    "ThrottlingException": "AWS throttled the request: retry in a few seconds",
    "StateMachineDeleting": "the state machine is being deleted: wait a minute and deploy again",
    "ConflictException": "another update is in progress: retry in a few seconds",
    "ServiceQuotaExceededException": "a Step Functions quota was reached: request an increase in Service Quotas",
}


def endpoint_override(service: str = "stepfunctions") -> str | None:
    """The endpoint boto3 sends ``service`` requests to instead of AWS (``AWS_ENDPOINT_URL_<SERVICE>``
    or ``AWS_ENDPOINT_URL``, as boto3 reads them): a moto server, LocalStack, ``orchestrator serve``.

    >>> import os; os.environ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:5000"; endpoint_override()
    'http://127.0.0.1:5000'
    >>> del os.environ["AWS_ENDPOINT_URL"]
    """
    variable = "AWS_ENDPOINT_URL_" + {"stepfunctions": "SFN"}.get(service, service.upper().replace("-", "_"))
    return os.environ.get(variable) or os.environ.get("AWS_ENDPOINT_URL") or None


def unimplemented(exc: BaseException) -> bool:
    """Whether ``exc`` says the endpoint lacks the operation rather than rejecting the request:
    moto in-process raises NotImplementedError, a moto server answers HTTP 500 with a page of
    HTML, other emulators name the operation unknown."""
    if isinstance(exc, NotImplementedError):
        return True
    code = exc.code if isinstance(exc, AwsError) else None
    if code in ("UnknownOperationException", "InvalidAction", "NotImplemented", "NotImplementedException"):
        return True
    # AWS's own 5xx carry a code such as InternalFailure; an emulator's bare "500" or "501" is the
    # HTTP status standing in for a code.
    return code in ("500", "501") and endpoint_override() is not None


def translate(exc: BaseException, operation: str, resource: str) -> AwsError | None:
    """The :class:`AwsError` for a botocore exception, or None when ``exc`` is not one to translate.

    >>> translate(KeyError("x"), "DescribeExecution", "execution 'e'") is None
    True
    """
    try:
        from botocore import exceptions as bce
    except ImportError:  # no botocore: nothing raised can be a botocore exception
        return None
    if isinstance(exc, bce.NoCredentialsError | bce.PartialCredentialsError | bce.CredentialRetrievalError):
        return AwsError(operation, resource, "no AWS credentials found", fix=CREDENTIALS_FIX)
    if isinstance(exc, bce.NoRegionError):
        return AwsError(operation, resource, "no AWS region configured", fix=REGION_FIX)
    if isinstance(exc, bce.EndpointConnectionError):
        override = endpoint_override()
        fix: str | None = (f"start the endpoint at {override}, or unset AWS_ENDPOINT_URL to use AWS" if override
               else "check the network connection and that the region name is right")
        return AwsError(operation, resource, f"cannot reach {exc.kwargs.get('endpoint_url', 'the endpoint')}",
                        fix=fix)
    if isinstance(exc, bce.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", "") or exc)
        fix = _FIXES.get(code)
        if fix is None and code in ("AccessDenied", "UnauthorizedOperation"):
            fix = _FIXES["AccessDeniedException"]
        override = endpoint_override()
        if code.isdigit() and override is not None:
            # Not AWS: an emulator answered with a bare HTTP status (and often an HTML page).
            message = f"HTTP {code} from {override}"
            fix = f"the endpoint may not implement {operation}: check its log, or unset AWS_ENDPOINT_URL to use AWS"
        return AwsError(operation, resource, message if code.isdigit() and override else f"{code}: {message}",
                        fix=None if fix is None else fix.format(operation=operation, resource=resource),
                        code=code)
    return None


@contextlib.contextmanager
def aws_call(operation: str, resource: str) -> Iterator[None]:
    """Run the body, turning a botocore failure into an :class:`AwsError` about ``operation`` on
    ``resource``; any other exception passes through unchanged."""
    try:
        yield
    except Exception as exc:
        translated = translate(exc, operation, resource)
        if translated is None:
            raise
        raise translated from exc


def client(service: str, region: str | None = None) -> Any:
    """A boto3 client; ``region`` None means the usual chain (AWS_REGION, the profile's region).

    Endpoints for ``moto`` or a local emulator come from ``AWS_ENDPOINT_URL`` as boto3 reads it.
    """
    boto3 = boto3_module()
    with aws_call("create client", f"{service} in {region or 'the default region'}"):
        return boto3.client(service, region_name=region)
