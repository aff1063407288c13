"""An eager task: it calls the server back (with the credential the server gave it) to run its children."""

from flytekit import eager, task


@task
def square(x: int) -> int:
    return x * x


@eager
async def eager_square(x: int) -> int:
    return square(x=x)
