"""The two auth failures, kept apart because flytekit treats them differently.

UNAUTHENTICATED makes flytekit run its OAuth flow and retry; PERMISSION_DENIED is final and names the
project and the role that was missing.
"""

from __future__ import annotations

import grpc

from aerodrome.errors import AdminError


class Unauthenticated(AdminError):
    """No credentials, or credentials that are expired, tampered with or signed by someone else."""

    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(AdminError):
    """A valid identity without the role the call needs."""

    code = grpc.StatusCode.PERMISSION_DENIED
