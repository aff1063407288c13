"""The floor for CreateExecution: a grpc.aio flyteidl AdminService that answers it from memory.

Run as a subprocess by bench/create_execution.py; prints ``ready <port>`` once it listens.
"""

from __future__ import annotations

import asyncio
import sys

from flyteidl.admin import execution_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import admin_pb2_grpc
from grpc import aio


class MemoryAdmin(admin_pb2_grpc.AdminServiceServicer):  # type: ignore[misc]
    """Keeps every request in a dict and answers with its id (what a database would give back)."""

    def __init__(self) -> None:
        self.executions: dict[str, execution_pb2.ExecutionCreateRequest] = {}

    async def CreateExecution(
        self, request: execution_pb2.ExecutionCreateRequest, context: object
    ) -> execution_pb2.ExecutionCreateResponse:
        name = request.name or f"f{len(self.executions)}"
        self.executions[name] = request
        ident = identifier_pb2.WorkflowExecutionIdentifier(project=request.project, domain=request.domain, name=name)
        return execution_pb2.ExecutionCreateResponse(id=ident)


async def main() -> None:
    server = aio.server()
    admin_pb2_grpc.add_AdminServiceServicer_to_server(MemoryAdmin(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"ready {port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
