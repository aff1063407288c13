"""The engine: runs executions and reports every change through the EventManager."""
