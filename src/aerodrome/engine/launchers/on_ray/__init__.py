"""The Ray launcher: task attempts on an existing Ray cluster (see ``launcher.py``).

Not named ``ray``: ``zygote.py`` and ``wrapper.py`` run as scripts from the directory above, where a
package of that name would shadow Ray itself in the task's ``import ray``.
"""
