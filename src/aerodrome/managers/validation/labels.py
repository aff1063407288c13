"""Kubernetes label rules, which FlyteAdmin applies to project and launch-plan labels."""

from __future__ import annotations

import re
from collections.abc import Mapping

from aerodrome.errors import InvalidArgument

MAX_LABELS = 16
_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def qualified_name_error(key: str) -> str | None:
    """Why ``key`` is not a valid qualified name (``[prefix/]name``), or None."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if not name or len(name) > 63 or not _NAME.match(name):
        return (
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
            "with an alphanumeric character, at most 63 characters"
        )
    return None


def dns_label_error(value: str) -> str | None:
    """Why ``value`` is not a DNS-1123 label, or None."""
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _DNS_LABEL.match(value):
        return (
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
            "must start and end with an alphanumeric character"
        )
    return None


def validate_labels(labels: Mapping[str, str]) -> None:
    """At most 16 labels, keys qualified names, values valid label values."""
    if len(labels) > MAX_LABELS:
        raise InvalidArgument(f"labels map cannot exceed {MAX_LABELS} entries")
    for key, value in labels.items():
        reason = qualified_name_error(key)
        if reason:
            raise InvalidArgument(f"invalid label key [{key}]: {reason}")
        if len(value) > 63 or not _NAME.match(value):
            raise InvalidArgument(
                f"invalid label value [{value}]: must be 63 characters or less and consist of alphanumeric "
                "characters, '-', '_' or '.', starting and ending with an alphanumeric character"
            )
