"""Reading and writing files safely: atomic writes, one writer at a time, bounded JSON, weights-only torch files.

The stage every other stage builds on; nothing here imports another part of dacl.
``dacl.io.torchfiles`` imports torch, so it is not re-exported here.
"""
