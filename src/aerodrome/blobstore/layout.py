"""Where every blob lives, relative to the store root, and the checks that keep keys inside it.

One deterministic layout means a blob's location can be recomputed from ids alone (no lookup table), and
an operator can find an execution's data by hand. Every key starts ``<project>/<domain>/``:

- ``<project>/<domain>/uploads/<filename_root or base32(md5)>/<filename>``: data-proxy uploads
  (fast-registration tarballs, ``FlyteRemote.upload_file``, ``flyte://`` writes), as flyteadmin builds them;
- ``<project>/<domain>/executions/<name>/...``: an execution's nodes' attempts and outputs;
- ``<project>/<domain>/inputs/<sha256[:2]>/<sha256>.pb``: executions' inputs (and gate nodes'), named by
  their content (``blobstore/inputs.py``): identical inputs are one immutable object.

``uploads``, ``executions`` and ``inputs`` are fixed words so that an execution called ``uploads`` cannot
collide with the upload area.
"""

from __future__ import annotations

import base64

from aerodrome.errors import InvalidArgument

UPLOADS = "uploads"
EXECUTIONS = "executions"
INPUTS = "inputs"


def check_segments(value: str, field: str, *, allow_slash: bool) -> list[str]:
    """The path segments of a client-supplied name; INVALID_ARGUMENT when it could escape its prefix.

    Rejected: absolute paths, ``..`` and ``.`` segments, empty segments (``a//b``), backslashes and NUL,
    so that joining the name under a prefix always stays under that prefix on every filesystem.
    """
    if not value:
        raise InvalidArgument(f"{field} must not be empty")
    if "\x00" in value or "\\" in value:
        raise InvalidArgument(f"invalid {field} [{value}]: it must not contain backslashes or NUL")
    if value.startswith("/"):
        raise InvalidArgument(f"invalid {field} [{value}]: absolute paths are not allowed")
    parts = value.split("/")
    if not allow_slash and len(parts) > 1:
        raise InvalidArgument(f"invalid {field} [{value}]: it must be a single path segment")
    for part in parts:
        if part in ("", ".", ".."):
            raise InvalidArgument(f"invalid {field} [{value}]: it must not escape its prefix")
    return parts


def md5_root(content_md5: bytes) -> str:
    """flyteadmin's default upload prefix: standard base32 (with padding) of the raw md5."""
    return base64.b32encode(content_md5).decode()


def upload_key(project: str, domain: str, root: str, filename: str) -> str:
    """The key of a data-proxy upload (validated: nothing can escape ``<project>/<domain>/uploads/``)."""
    check_segments(project, "project", allow_slash=False)
    check_segments(domain, "domain", allow_slash=False)
    check_segments(root, "filename_root", allow_slash=True)
    check_segments(filename, "filename", allow_slash=True)
    return f"{project}/{domain}/{UPLOADS}/{root}/{filename}"


def inputs_key(project: str, domain: str, sha256: str) -> str:
    """The key of inputs whose serialized form has this SHA-256 (hex)."""
    check_segments(project, "project", allow_slash=False)
    check_segments(domain, "domain", allow_slash=False)
    return f"{project}/{domain}/{INPUTS}/{sha256[:2]}/{sha256}.pb"


def execution_key(project: str, domain: str, name: str) -> str:
    """The prefix of everything one execution stores."""
    for value, field in ((project, "project"), (domain, "domain"), (name, "execution name")):
        check_segments(value, field, allow_slash=False)
    return f"{project}/{domain}/{EXECUTIONS}/{name}"


def node_key(project: str, domain: str, name: str, node_id: str, attempt: int | None = None) -> str:
    """The prefix of one node (and, with ``attempt``, one task attempt) of an execution."""
    check_segments(node_id, "node id", allow_slash=False)
    key = f"{execution_key(project, domain, name)}/{node_id}"
    return key if attempt is None else f"{key}/{attempt}"
