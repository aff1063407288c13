"""Create, modify and terminate a user."""

from __future__ import annotations

from flytekit import task, workflow


@task
def provision_user(username: str, group_name: str) -> str:
    return f"user {username} created in {group_name}"


@task
def change_user(username: str, email: str) -> str:
    return f"user {username} now reachable at {email}"


@task
def remove_user(username: str) -> str:
    return f"user {username} terminated"


@workflow
def create_user(username: str, group_name: str) -> str:
    return provision_user(username=username, group_name=group_name)


@workflow
def modify_user(username: str, email: str) -> str:
    return change_user(username=username, email=email)


@workflow
def terminate_user(username: str) -> str:
    return remove_user(username=username)
