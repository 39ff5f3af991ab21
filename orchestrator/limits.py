"""Every AWS quota and limit the package checks, defined once, each with the rule it comes from.

Everything that checks a limit imports it from here; a second copy of a number is a second chance
to disagree. Choices this package makes *within* a limit (a margin, a default, a local cap) stay
beside the code that makes them and say which limit they keep under.

    >>> STATE_NAME_MAX, MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES // 1024
    (80, 25000, 256)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# --- Step Functions ("Quotas" in the Step Functions developer guide; API reference) ---------------
STATE_NAME_MAX = 80  # States Language: a state name is at most 80 characters.
STATE_MACHINE_NAME_MAX = 80  # CreateStateMachine: name is 1..80 characters.
EXECUTION_NAME_MAX = 80  # StartExecution: name is 1..80 characters.
MAX_HISTORY_EVENTS = 25_000  # Standard workflows: hard quota of 25,000 history events per execution.
MAX_PAYLOAD_BYTES = 256 * 1024  # 256 KiB of UTF-8 per state input, output, result and execution input.
MAX_DEFINITION_BYTES = 1_048_576  # a state machine definition is at most 1 MB.
# An API request is at most 1 MB, "including the request header and all other associated request
# data": a definition is sent as a JSON string inside CreateStateMachine's body.
MAX_REQUEST_BYTES = 1_048_576
MAX_INTRINSIC_NESTING = 10  # at most 10 intrinsic functions nested in one field.
SFN_MAX_RETRY_ATTEMPTS = 99_999_999  # Retrier MaxAttempts upper bound.
SFN_MAX_INTERVAL = 99_999_999  # Retrier IntervalSeconds / MaxDelaySeconds upper bound.
MAX_WAIT_SECONDS = 2**31 - 1  # a Wait delay that overflows a signed 32-bit count of seconds is rejected.
DEFAULT_TASK_TIMEOUT_SECONDS = 99_999_999  # a Task without TimeoutSeconds times out after this long.
FAIL_CAUSE_MAX = 32_768  # a Fail state's (and an execution's) Cause is at most 32,768 characters.
# Intrinsic functions reference: States.ArrayRange yields at most 1,000 items; States.Base64Encode,
# States.Base64Decode and States.Hash take at most 10,000 characters of input.
INTRINSIC_RANGE_ITEMS_MAX = 1000
INTRINSIC_INPUT_CHARS_MAX = 10_000
INLINE_MAP_CONCURRENCY = 40  # an inline Map runs at most 40 iterations at once.
LIST_PAGE_MAX = 1000  # ListExecutions and GetExecutionHistory return at most 1,000 items a page.

# --- Lambda ("Lambda quotas") --------------------------------------------------------------------
LAMBDA_MAX_TIMEOUT = 900  # a function's timeout is at most 900 seconds (15 minutes).
LAMBDA_DEFAULT_TIMEOUT = 3  # a function created without a timeout gets 3 seconds.
LAMBDA_MEMORY_MIN = 128  # function memory is 128..10,240 MiB.
LAMBDA_MEMORY_MAX = 10_240
LAMBDA_FUNCTION_NAME_MAX = 64  # CreateFunction: a function name is 1..64 characters.
LAMBDA_ENVIRONMENT_MAX = 4096  # a function's environment variables total at most 4 KB (keys and values).

# --- Batch (RegisterJobDefinition / SubmitJob API reference) -------------------------------------
BATCH_MIN_ATTEMPT_DURATION = 60  # timeout.attemptDurationSeconds must be at least 60.
BATCH_MIN_ARRAY_SIZE = 2  # arrayProperties.size is 2..10,000.
BATCH_MAX_ARRAY_SIZE = 10_000
BATCH_JOB_NAME_MAX = 128  # job names: up to 128 letters, digits, hyphens and underscores.
BATCH_QUEUE_NAME_MAX = 128  # job queue names: the same rule.
BATCH_JOB_DEFINITION_NAME_MAX = 128  # job definition names: the same rule.
# SubmitJob's containerOverrides (command, environment) reach ECS as task overrides, which are at
# most 8,192 characters.
CONTAINER_OVERRIDES_MAX = 8192
# Batch on Fargate: the memory (MiB) each vCPU setting allows ("Fargate resource requirements";
# RegisterJobDefinition rejects any other pair).
FARGATE_MEMORY: Mapping[float, tuple[int, ...]] = MappingProxyType({
    0.25: (512, 1024, 2048),
    0.5: tuple(range(1024, 4096 + 1, 1024)),
    1.0: tuple(range(2048, 8192 + 1, 1024)),
    2.0: tuple(range(4096, 16384 + 1, 1024)),
    4.0: tuple(range(8192, 30720 + 1, 1024)),
    8.0: tuple(range(16384, 61440 + 1, 4096)),
    16.0: tuple(range(32768, 122880 + 1, 8192)),
})

# --- SNS (Publish API reference) -----------------------------------------------------------------
SNS_SUBJECT_MAX = 99  # Subject: under 100 printable ASCII characters, no line breaks.
SNS_TOPIC_NAME_MAX = 256  # CreateTopic: a topic name is 1..256 characters.
SNS_MESSAGE_MAX = 262_144  # SNS Publish: a message (with its attributes) is at most 256 KiB.

# --- CloudWatch Logs (CreateLogGroup API reference) ---------------------------------------------
LOG_GROUP_NAME_MAX = 512  # a log group name is 1..512 characters.

# --- Tags ("Tagging AWS resources") --------------------------------------------------------------
TAG_KEY_MAX = 128  # keys up to 128 characters ("aws:" is reserved),
TAG_VALUE_MAX = 256  # values up to 256,
TAGS_MAX = 50  # at most 50 tags per resource.

# --- EventBridge Scheduler (CreateSchedule API reference) ----------------------------------------
CRON_YEAR_MIN, CRON_YEAR_MAX = 1970, 2199  # cron() years are 1970..2199.
FLEXIBLE_WINDOW_MAX = 1440  # FlexibleTimeWindow.MaximumWindowInMinutes is 1..1,440.


# --- Loading a spec: this package's own bounds, so that no input can exhaust the machine -----------
SPEC_MAX_BYTES = 32 * 1024 * 1024  # a spec file; 10,000 tasks take about 3 MB of JSON
SPEC_MAX_NODES = 500_000  # values after YAML aliases are expanded (a few lines can mean billions)
SPEC_MAX_DEPTH = 64  # nesting of mappings and lists; a workflow needs fewer than ten levels
PROBLEMS_SHOWN_MAX = 50  # printed at once; the rest are counted
JSON_INT_MAX = 2**63 - 1  # AWS APIs take 64-bit integers; JSON readers lose precision past 2**53

# --- CloudWatch alarms (PutMetricAlarm API reference) --------------------------------------------
# Period x EvaluationPeriods is at most 7 days, and at most 1 day when the period is under an hour.
ALARM_WINDOW_MAX = 7 * 86_400
ALARM_WINDOW_MAX_SHORT_PERIOD = 86_400
