"""The execution input given on a command line, shared by local and AWS commands.

    >>> parse_execution_input('{"date": "2024-06-01"}')
    {'date': '2024-06-01'}
    >>> parse_execution_input(None)
    {}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestrator.errors import OrchestratorError


class InputError(OrchestratorError):
    """The execution input given on the command line is not JSON."""


def parse_execution_input(input_json: str | None) -> Any:
    """JSON text, or ``@path`` to a JSON file; nothing means ``{}`` (what Step Functions starts with)."""
    if input_json is None or input_json == "":
        return {}
    source = "--input"
    if input_json.startswith("@"):
        source = input_json[1:]
        try:
            input_json = Path(source).read_text()
        except OSError as exc:
            raise InputError(f"--input {input_json}: cannot read {source}: {exc.strerror}") from None
    try:
        return json.loads(input_json)
    except ValueError as exc:
        raise InputError(f"{source} is not valid JSON: {exc}. Example: --input '{{\"date\": \"2024-06-01\"}}'"
                         " or --input @input.json") from None
