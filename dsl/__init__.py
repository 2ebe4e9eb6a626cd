"""dsl: declarative experiments on invariance and transfer.

The public API mirrors the command line; everything else is internal.
"""
