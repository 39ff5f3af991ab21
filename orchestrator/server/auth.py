"""SigV4 for the local endpoint: a request must be signed with the server's access key.

Off loopback the endpoint is reachable by others, so ``serve`` then insists on an access key and
every request must carry AWS Signature Version 4 made with it — what every AWS SDK and the CLI do
with ``aws_access_key_id`` / ``aws_secret_access_key`` set. The check recomputes the signature
with botocore's own signer (``botocore.auth.SigV4Auth``) over the request as received — the
headers the client says it signed, the path, the query and the body — and compares the two in
constant time. Failures are AWS's errors: ``MissingAuthenticationTokenException``,
``IncompleteSignatureException``, ``UnrecognizedClientException`` (another access key),
``InvalidSignatureException`` (wrong secret, altered request, or a clock more than 15 minutes off).

    >>> from botocore.auth import SigV4Auth
    >>> from botocore.awsrequest import AWSRequest
    >>> from botocore.credentials import Credentials
    >>> signed = AWSRequest("POST", "http://127.0.0.1:8083/", data=b"{}", headers={"X-Amz-Target": "x"})
    >>> SigV4Auth(Credentials("AKIDLOCAL", "secret"), "states", "us-east-1").add_auth(signed)
    >>> verifier = SigV4Verifier("AKIDLOCAL", "secret", service="states")
    >>> verifier.verify("POST", "/", "", [(k, v) for k, v in signed.headers.items()] + [("host", "127.0.0.1:8083")],
    ...                 b"{}")
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence
from datetime import UTC, datetime

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from orchestrator.server.errors import ServiceError

# AWS refuses a signature made more than 15 minutes before or after its own clock.
MAX_CLOCK_SKEW_SECONDS = 15 * 60
_AUTH = re.compile(r"AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]+)")


class SigV4Verifier:
    """Checks that requests are signed with ``access_key_id`` / ``secret_access_key``."""

    def __init__(self, access_key_id: str, secret_access_key: str, *, service: str) -> None:
        self.access_key_id = access_key_id
        self._credentials = Credentials(access_key_id, secret_access_key)
        self.service = service

    def verify(self, method: str, path: str, query: str, headers: Sequence[tuple[str, str]], body: bytes) -> None:
        """Return if the request is signed with this key; raise ``ServiceError`` (AWS's code) if not."""
        by_name = {name.lower(): value for name, value in headers}
        header = by_name.get("authorization")
        if not header:
            raise ServiceError("MissingAuthenticationTokenException", "Missing Authentication Token", status=403)
        match = _AUTH.fullmatch(header.strip())
        if match is None:
            raise ServiceError("IncompleteSignatureException",
                               f"Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
                               f"parameters of AWS4-HMAC-SHA256. Authorization={header[:60]}")
        credential, signed_names, signature = match.groups()
        scope = credential.split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            raise ServiceError("IncompleteSignatureException", f"Credential should be scoped correctly: '{credential}'")
        key_id, day, region, service, _ = scope
        if not hmac.compare_digest(key_id.encode(), self.access_key_id.encode()):
            raise ServiceError("UnrecognizedClientException", "The security token included in the request is invalid.",
                               status=403)
        amz_date = by_name.get("x-amz-date", "")
        try:
            signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise ServiceError("IncompleteSignatureException",
                               "Authorization requires a valid X-Amz-Date header (YYYYMMDDTHHMMSSZ)") from None
        now = datetime.now(UTC)
        if abs((now - signed_at).total_seconds()) > MAX_CLOCK_SKEW_SECONDS:
            raise ServiceError("InvalidSignatureException",
                               f"Signature expired: {amz_date} is now earlier than "
                               f"{now.strftime('%Y%m%dT%H%M%SZ')} (more than 15 minutes apart)", status=403)
        if service != self.service:
            raise ServiceError("InvalidSignatureException",
                               f"Credential should be scoped to correct service: '{self.service}'.", status=403)
        if day != amz_date[:8]:
            raise ServiceError("InvalidSignatureException",
                               f"Credential should be scoped to a valid date: '{day}' is not the date of {amz_date}",
                               status=403)
        names = signed_names.split(";")
        if "host" not in names:
            raise ServiceError("IncompleteSignatureException", "'Host' must be a signed header", status=400)
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ServiceError("IncompleteSignatureException", f"Signed header(s) missing: {', '.join(missing)}")
        # Only the headers the client signed, exactly as received, so the canonical request matches.
        request = AWSRequest(method=method, url=f"http://{by_name['host']}{path}{'?' + query if query else ''}",
                             data=body, headers={n: by_name[n] for n in names})
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(self._credentials, service, region)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise ServiceError("InvalidSignatureException",
                               "The request signature we calculated does not match the signature you provided. "
                               "Check your AWS Secret Access Key and signing method. Consult the service "
                               "documentation for details.", status=403)
