"""Node handlers, one module per node kind; each returns the node's outcome after reporting it."""
