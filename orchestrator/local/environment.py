"""Step Functions Local's environment settings, read once per run wherever a local run starts.

``WAIT_TIME_SCALE`` (Step Functions Local's "Wait Time Scale") multiplies the time Wait states
and retry intervals take: ``0.5`` halves them, ``0`` skips them. Task and execution timeouts are
not scaled. ``SFN_MOCK_CONFIG`` names the MockConfigFile when ``--mock-config`` is not given.

    >>> wait_time_scale({"WAIT_TIME_SCALE": "0"})
    0.0
    >>> wait_time_scale({})
    1.0
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from orchestrator.errors import OrchestratorError

WAIT_TIME_SCALE = "WAIT_TIME_SCALE"
MOCK_CONFIG = "SFN_MOCK_CONFIG"


class SettingError(OrchestratorError):
    """An environment setting has a value that cannot be used."""


def wait_time_scale(environ: Mapping[str, str] | None = None) -> float:
    """``WAIT_TIME_SCALE`` as a number of 0 or more (1 when unset or empty)."""
    env = os.environ if environ is None else environ
    text = env.get(WAIT_TIME_SCALE, "").strip()
    if not text:
        return 1.0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise SettingError(f"{WAIT_TIME_SCALE}={text!r} is not a number of 0 or more; e.g. "
                           f"{WAIT_TIME_SCALE}=0 (no waiting) or {WAIT_TIME_SCALE}=0.1 (a tenth of each wait).")
    return value


def mock_config_path(given: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """The mock config file to use: the one given, else ``SFN_MOCK_CONFIG``, else none.

    >>> mock_config_path(None, {"SFN_MOCK_CONFIG": "MockConfigFile.json"})
    'MockConfigFile.json'
    """
    env = os.environ if environ is None else environ
    return given or env.get(MOCK_CONFIG) or None
