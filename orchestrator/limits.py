"""Every AWS quota and limit the package checks, defined once, each with the rule it comes from.

Everything that checks a limit imports it from here; a second copy of a number is a second chance
to disagree.
"""

from __future__ import annotations

# Step Functions StartExecution: an execution name is 1-80 characters.
EXECUTION_NAME_MAX = 80
