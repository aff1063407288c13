"""Inputs from the user's machine, as ``pyflyte run --remote`` uploads them (run by
tests/integration/test_user_uploads.py): files, directories (one file or several), dataclasses holding
FlyteFile / FlyteDirectory defaults; and a task with a deck."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import flytekit
from flytekit import FlyteContextManager, task, workflow
from flytekit.types.directory import FlyteDirectory
from flytekit.types.file import FlyteFile
from flytekit.types.structured import StructuredDataset


@task
def listing(d: FlyteDirectory) -> str:
    return ",".join(sorted(os.listdir(d.download())))


@workflow
def list_dir(d: FlyteDirectory) -> str:
    return listing(d=d)


@task
def content(f: FlyteFile) -> str:
    with open(f) as handle:
        return handle.read().strip()


@workflow
def read_file(f: FlyteFile) -> str:
    return content(f=f)


@dataclass
class Inputs:
    d: FlyteDirectory = field(default_factory=lambda: FlyteDirectory("data/single"))
    f: FlyteFile = field(default_factory=lambda: FlyteFile("data/single/00000"))


@task
def both(h: Inputs) -> str:
    return ",".join(sorted(os.listdir(h.d.download()))) + "|" + open(h.f).read().strip()


@workflow
def dataclass_defaults(h: Inputs = Inputs()) -> str:
    return both(h=h)


@task(enable_deck=True)
def with_deck(text: str) -> str:
    flytekit.Deck("notes", f"<p>{text}</p>")
    return text


@workflow
def decked(text: str = "deck me") -> str:
    return with_deck(text=text)


@task
def dataset_files(sd: StructuredDataset) -> str:
    """The files behind a structured dataset (read as files: no dataframe library needed)."""
    files = FlyteContextManager.current_context().file_access
    local = files.get_random_local_directory()
    files.get_data(sd.literal.uri, local, is_multipart=True)
    return ",".join(sorted(os.listdir(local)))


@workflow
def everything(
    several: FlyteDirectory, single: FlyteDirectory, f: FlyteFile, sd: StructuredDataset, h: Inputs = Inputs()
) -> tuple[str, str, str, str, str, str]:
    """Every upload path in one run (each ``pyflyte run`` costs a packaging and a registration)."""
    return (
        listing(d=several),
        listing(d=single),
        content(f=f),
        both(h=h),
        with_deck(text="hello deck"),
        dataset_files(sd=sd),
    )
