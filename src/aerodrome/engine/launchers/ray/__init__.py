"""The Ray launcher: task attempts on an existing Ray cluster (see ``launcher.py``)."""
