"""Secrets for tasks: kept encrypted in the database (Fernet, with a key outside it), or read from a
directory the operator names; handed to an attempt only for the secrets its task requested.

Where a task finds a secret is flytekit's rule (``SecretsManager.get``): the environment variable
``_FSEC_<GROUP>_<KEY>`` first, then the file ``<FLYTE_SECRETS_DEFAULT_DIR>/<group>/<key>``. As the
reference's secret injector does, a request with ``mount_requirement=ENV_VAR`` gets the variable, one
with FILE or ANY gets the file; a request naming ``env_var`` also gets that variable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from flyteidl.core import security_pb2

from aerodrome.db.engine import Database
from aerodrome.db.repositories.secrets import SecretRepository
from aerodrome.errors import InvalidArgument, NotFound
from aerodrome.keyfiles import load_or_create
from aerodrome.settings import Settings

KEY_FILE = "secrets.key"
ENV_PREFIX = "_FSEC_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
Mount = security_pb2.Secret.MountType


class SecretMissing(Exception):
    """A requested secret is neither in the database nor in the operator's directory."""


@dataclass
class Injection:
    """What an attempt gets: environment variables and files (relative path under the secrets dir)."""

    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


def load_key(settings: Settings) -> bytes:
    """The configured Fernet key, or the one kept in ``<home>/secrets.key`` (created once, mode 0600)."""
    if settings.secrets.key:
        return settings.secrets.key.encode()
    return load_or_create(Path(settings.home) / KEY_FILE, Fernet.generate_key)


def check_name(what: str, value: str) -> str:
    if not _NAME.match(value):
        raise InvalidArgument(f"secret {what} {value!r} must be 1-255 letters, digits, '_', '.' or '-'")
    return value


class SecretManager:
    """Set, list, delete and resolve secrets; values never leave except into an attempt that asked."""

    def __init__(self, db: Database, key: bytes, directory: str = "") -> None:
        self.db = db
        self.fernet = Fernet(key)
        self.directory = Path(directory).expanduser() if directory else None

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> SecretManager:
        return cls(db, load_key(settings), settings.secrets.dir)

    async def set(self, group: str, key: str, value: str) -> None:
        ciphertext = self.fernet.encrypt(value.encode())
        async with self.db.transaction(write=True) as uow:
            await SecretRepository(uow.session).put(check_name("group", group), check_name("key", key), ciphertext)

    async def delete(self, group: str, key: str) -> None:
        async with self.db.transaction(write=True) as uow:
            if not await SecretRepository(uow.session).remove(group, key):
                raise NotFound(f"no secret {group}/{key} in the database")

    async def names(self) -> list[tuple[str, str]]:
        async with self.db.transaction() as uow:
            return list(await SecretRepository(uow.session).names())

    async def value(self, group: str, key: str) -> str:
        """The secret's value: from the database, else from the operator's directory."""
        async with self.db.transaction() as uow:
            row = await SecretRepository(uow.session).find(group, key)
        if row is not None:
            try:
                return self.fernet.decrypt(row.ciphertext).decode()
            except InvalidToken:
                raise SecretMissing(
                    f"secret {group}/{key} cannot be decrypted with this server's secrets key "
                    "(AERODROME_SECRETS_KEY or <home>/secrets.key changed since it was set)"
                ) from None
        if self.directory is not None:
            path = self.directory / group / key
            if path.is_file() and path.resolve().is_relative_to(self.directory.resolve()):
                return path.read_text().strip()
        raise SecretMissing(
            f"secret {group}/{key} requested by the task is not set: `aerodrome secrets set {group} {key}`"
        )

    async def injection(self, requests: list[security_pb2.Secret]) -> Injection:
        """The variables and files for exactly the requested secrets; raises SecretMissing."""
        out = Injection()
        for request in requests:
            if not request.key:
                raise SecretMissing(f"secret request for group {request.group!r} names no key")
            value = await self.value(request.group, request.key)
            if request.env_var:
                out.env[request.env_var] = value
            if request.mount_requirement == Mount.ENV_VAR:
                names = [n for n in (request.group, request.group_version, request.key) if n]
                out.env[ENV_PREFIX + "_".join(n.upper() for n in names)] = value
            else:
                parts = [n.lower() for n in (request.group, request.group_version, request.key) if n]
                out.files["/".join(parts)] = value
        return out
