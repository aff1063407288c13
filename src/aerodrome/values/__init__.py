"""Value types shared by the managers and the engine (cache keys, a node's frozen provider runtime).

They live outside both packages so that the managers never import from the engine: the engine computes
and uses them, the managers store and read them.
"""
