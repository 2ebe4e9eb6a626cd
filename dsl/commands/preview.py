"""`dsl preview` (scaffold: replaced by the module that implements it)."""

from dsl.errors import DslError


def register(sub):
    p = sub.add_parser("preview", help="(not built yet)")
    p.set_defaults(func=_run)


def _run(args):
    raise DslError("'dsl preview' is not built yet")
