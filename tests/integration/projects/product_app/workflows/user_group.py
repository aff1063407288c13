"""Create, modify and terminate a user group."""

from __future__ import annotations

from flytekit import task, workflow


@task
def provision_group(group_name: str) -> str:
    return f"group {group_name} created"


@task
def rename_group(group_name: str, new_name: str) -> str:
    return f"group {group_name} renamed to {new_name}"


@task
def remove_group(group_name: str) -> str:
    return f"group {group_name} terminated"


@workflow
def create_user_group(group_name: str) -> str:
    return provision_group(group_name=group_name)


@workflow
def modify_user_group(group_name: str, new_name: str) -> str:
    return rename_group(group_name=group_name, new_name=new_name)


@workflow
def terminate_user_group(group_name: str) -> str:
    return remove_group(group_name=group_name)
