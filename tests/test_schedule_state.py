"""The scheduler's state on its own (engine.schedule_state): no store, no executor, no torch."""

from __future__ import annotations

from engine.schedule_state import (DONE, ELSEWHERE, FAILED, PENDING, RUNNING, SKIPPED,
                                   ScheduleState)

# a -> b -> d, a -> c -> d, e alone; listed in dependency order
GRAPH = {"a": [], "e": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}


def _drain(state: ScheduleState) -> list[str]:
    out = []
    while (jid := state.pop_ready()) is not None:
        out.append(jid)
    return out


def test_only_jobs_without_unfinished_inputs_are_ready_in_dependency_order():
    state = ScheduleState(GRAPH)
    assert [state.count(j) for j in GRAPH] == [0, 0, 1, 1, 2]
    assert _drain(state) == ["a", "e"]
    assert not state.has_ready


def test_finishing_an_input_counts_down_its_readers_and_queues_them_at_zero():
    state = ScheduleState(GRAPH)
    _drain(state)
    state.start("a")
    state.finish("a")
    assert state.count("b") == 0 and state.count("c") == 0 and state.count("d") == 2
    assert _drain(state) == ["b", "c"]
    state.finish("b")
    assert state.count("d") == 1 and not state.has_ready
    state.finish("c")
    assert _drain(state) == ["d"]
    state.finish("c")  # told twice (a poll and a result): counted once
    assert state.count("d") == 0


def test_jobs_finished_before_the_start_are_done_and_their_readers_ready():
    state = ScheduleState(GRAPH, done={"a", "b"})
    assert state.ids(DONE) == {"a", "b"}
    assert _drain(state) == ["e", "c"]
    assert state.count("d") == 1


def test_an_input_outside_the_graph_keeps_its_reader_waiting():
    state = ScheduleState({"x": ["elsewhere-made"], "y": []})
    assert _drain(state) == ["y"]
    assert state.count("x") == 1 and state.state("x") == PENDING


def test_a_failure_dooms_every_reader_downstream_but_nothing_else():
    state = ScheduleState(GRAPH)
    _drain(state)
    state.start("a")
    assert sorted(state.fail("a")) == ["b", "c", "d"]
    for jid in ("b", "c", "d"):
        state.skip(jid)
    assert state.state("a") == FAILED and state.ids(SKIPPED) == {"b", "c", "d"}
    assert state.state("e") == PENDING  # the independent job goes on
    assert state.unsettled


def test_a_failure_spares_readers_already_finished():
    state = ScheduleState(GRAPH, done={"a", "b"})
    assert state.fail("c") == ["d"]


def test_reopening_a_finished_input_runs_it_first_and_its_readers_wait_again():
    state = ScheduleState(GRAPH, done={"a"})
    assert _drain(state) == ["e", "b", "c"]
    state.start("b")
    state.requeue("a")  # b's worker found a damaged: a runs again, before everything else
    assert state.state("a") == PENDING
    assert state.count("c") == 1 and state.count("b") == 1
    state.requeue("b", first=False)  # b goes back, after everything else
    state.requeue("e")
    assert _drain(state) == ["e", "a"]  # the latest put first runs first; b and c wait for a
    state.finish("a")
    assert _drain(state) == ["c", "b"]


def test_a_popped_job_whose_input_is_reopened_is_queued_again_once_the_input_is_remade():
    state = ScheduleState({"a": [], "b": ["a"]}, done={"a"})
    assert state.pop_ready() == "b"
    state.requeue("a")
    assert _drain(state) == ["a"]
    state.start("a")
    state.finish("a")
    assert _drain(state) == ["b"]


def test_states_waiting_elsewhere_and_settled():
    state = ScheduleState({"a": [], "b": []})
    state.pop_ready()
    state.elsewhere("a")
    state.start(state.pop_ready())
    assert state.ids(ELSEWHERE) == {"a"} and state.ids(RUNNING) == {"b"}
    state.requeue("a")  # its other driver died: claim it again
    assert state.pop_ready() == "a"
    state.finish("a")
    state.finish("b")
    assert not state.unsettled and state.ids(DONE) == {"a", "b"}


def test_a_job_that_left_pending_is_not_handed_out_from_a_stale_queue_entry():
    state = ScheduleState({"a": [], "b": []})
    state.elsewhere("a")  # settled through a poll while still queued
    assert _drain(state) == ["b"]
