"""Deploy-time ``${Placeholder}`` values: the pattern, the names, and the one ``substitute()``.

The compiler writes them, and the boto3 deploy, the CDK machines and the local runner replace them
(CDK's ``definitionSubstitutions`` semantics: values only, never keys).
"""

from __future__ import annotations
