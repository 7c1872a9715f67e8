"""Where a request came from, for lockouts and the audit trail.

Apart from ``auth`` (which brings django-ninja and pydantic) so that the read
accessors in every module's ``queries`` - imported by the projections, hence by
every process that sets Django up, the sync process too - don't load the API
framework.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def client_address(request: Any) -> str:
    """Where the request came from: the peer's address, or - behind a proxy the node
    trusts (NIRANTAR_TRUST_PROXY) - the address that proxy saw, the last hop it added
    to X-Forwarded-For. Without this, every client behind nginx would be 127.0.0.1:
    one shared lockout counter, and no address in the audit trail."""
    meta = request.META
    if settings.TRUST_PROXY:
        forwarded = str(meta.get("HTTP_X_FORWARDED_FOR", "")).rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded[:60]
    return str(meta.get("REMOTE_ADDR", ""))[:60]
