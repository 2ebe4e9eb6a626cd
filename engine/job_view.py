"""One job as the store knows it, gathered for `dsl show`: record, metrics, code, environment."""

from __future__ import annotations

from typing import Any

from dsl.errors import DslError, did_you_mean


def find_job(store: Any, text: str) -> str:
    """The id of the job `text` names (an id or a unique prefix); one error otherwise."""
    with store._read() as con:  # a prefix query the store's own reads do not offer
        rows = [] if con is None else [r[0] for r in con.execute(
            "SELECT job_id FROM jobs WHERE substr(job_id, 1, ?) = ? ORDER BY job_id",
            (len(text), text)).fetchall()]
    if text in rows:
        return text
    if len(rows) == 1:
        return rows[0]
    if rows:
        more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
        raise DslError(f"job {text!r} is ambiguous: {', '.join(rows[:3])}{more}; give more of "
                       "the id")
    kind = text.rsplit("-", 1)[0]
    hint = None
    if store.exists():
        with store._read() as con:
            near = [r[0] for r in con.execute("SELECT job_id FROM jobs WHERE kind=?",
                                              (kind,)).fetchall()] if con is not None else []
        hint = did_you_mean(text, near)
    return _missing(store, text, hint)


def _missing(store: Any, text: str, hint: str | None) -> str:
    raise DslError(f"no job {text!r} in the store at {store.root} (`dsl plan --explain SPEC` "
                   "lists a spec's job ids)" + (f"; {hint}" if hint else ""))


def job_view(text: str, store_root: Any = None) -> dict[str, Any]:
    """Everything about one job, as plain data."""
    from engine import provenance
    from engine.fingerprint import default
    from engine.kinds import KINDS
    from engine.store import Store, resolve_root

    store = store_root if isinstance(store_root, Store) else Store(resolve_root(store_root))
    jid = find_job(store, text)
    rec = store.job(jid)
    inputs = store.jobs(list(rec.inputs.values()))
    metrics = store.metrics([jid]).to_dicts()
    prov = provenance.jobs(store, [jid]).get(jid)
    today = default().of_impl(KINDS[rec.kind].impl) if rec.kind in KINDS else None
    changed: list[str] = []
    if prov and prov.fingerprint and today and prov.fingerprint != today.digest:
        changed = today.changed(prov.files) if prov.files else ["(files not recorded)"]
    folder = store.paths.artifact(jid)
    runs = [{"run_id": r.run_id, "spec": r.spec} for r in store.runs() if jid in r.job_ids()]
    return {
        "job_id": jid, "kind": rec.kind, "version": rec.version, "status": rec.status,
        "error": rec.error, "error_line": rec.error_line, "config": rec.config,
        "inputs": {role: {"job_id": dep, "status": inputs[dep].status if dep in inputs
                          else "not in the store"} for role, dep in rec.inputs.items()},
        "metrics": [{"name": m["name"], "split": m["split"], "value": m["value"]}
                    for m in metrics],
        "timings": {"claimed_at": rec.claimed_at, "started": rec.started,
                    "finished": rec.finished, "seconds": rec.seconds, "host": rec.host,
                    "owner": rec.owner},
        "code": {"recorded": prov.fingerprint if prov else None,
                 "today": today.digest if today else None,
                 "files": dict(prov.files) if prov else {}, "changed": changed},
        "environment": dict(prov.environment) if prov and prov.environment else None,
        "artifact": str(folder), "artifact_exists": folder.is_dir(),
        "log": str(folder / "log.txt"), "log_exists": (folder / "log.txt").is_file(),
        "runs": runs,
    }
