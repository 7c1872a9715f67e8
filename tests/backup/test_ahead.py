"""A restore makes its next segment ready in a thread of its own while it stores the one
before (``backup._ahead_in_a_thread``). What it hands on must be what the segments
give, in order; a segment that can't be read must still stop the restore at its turn,
after every segment before it; and a restore that stops early must not leave the
thread, or the process that opens the segments, behind."""

from __future__ import annotations

import threading
import time

import pytest

from nirantar.backup import BackupError, _ahead_in_a_thread


def threads_ahead() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "restore-ahead"]


def test_each_item_comes_in_order_made_in_another_thread_while_the_one_before_is_worked_on():
    made_by: list[int] = []
    second_made = threading.Event()

    def segments():
        for number in range(1, 6):
            made_by.append(threading.get_ident())
            if number == 2:
                second_made.set()
            yield number

    taken = []
    for number in _ahead_in_a_thread(segments()):
        if number == 1:
            # While the first is being stored, the second is made, without being asked for
            # - and no more: each holds a segment's tens of megabytes.
            assert second_made.wait(timeout=10)
            time.sleep(0.3)
            assert len(made_by) == 2
        taken.append(number)
    assert taken == [1, 2, 3, 4, 5]
    assert set(made_by) != {threading.get_ident()} and len(set(made_by)) == 1
    assert not threads_ahead()


def test_a_segment_that_cannot_be_read_stops_the_restore_in_its_turn():
    def segments():
        yield "first"
        yield "second"
        raise BackupError("segments/3.seg: its content does not match its name (altered)")

    taken = []
    with pytest.raises(BackupError, match="altered"):
        for item in _ahead_in_a_thread(segments()):
            taken.append(item)
    assert taken == ["first", "second"]
    assert not threads_ahead()


def test_a_restore_that_stops_early_closes_what_makes_its_segments_and_leaves_no_thread():
    closed = threading.Event()
    closed_in: list[int] = []

    def segments():
        try:
            yield from range(1_000)
        finally:  # where the other process is shut down
            closed_in.append(threading.get_ident())
            closed.set()

    with pytest.raises(RuntimeError):
        for number in _ahead_in_a_thread(segments()):
            if number == 3:
                raise RuntimeError("the database refused a batch")
    assert closed.is_set() and closed_in != [threading.get_ident()]
    assert not threads_ahead()


def test_what_a_segment_gave_comes_back_whole_by_marshal_or_else_by_pickle():
    """The process that opens a segment sends plain values (the rows made beside) packed
    by ``marshal``, with the lines, in a block of shared memory; a projection's hint of
    another kind (a date here) goes as it is, for pickle to send - either way the
    restoring process gets back what was found, and no block is left behind."""
    import pickle
    from datetime import date
    from multiprocessing import shared_memory

    from nirantar.backup import _handed_back, _let_go, _packed, _taken_back

    lines = b"\n".join(b'{"a":%d}' % i for i in range(2_000))
    checked = [("ab" * 32, 10, 42), None]
    plain = (checked, {0: [("ab" * 32, (101, 7, ["101-0000007-2", True, {"x": [1, 2]}]))]})
    dated = (checked, {0: [("ab" * 32, date(1985, 3, 14))]})
    sent = _handed_back(lines, _packed(plain))
    assert len(pickle.dumps(sent)) < 200  # the name of the block, not what is in it
    assert _taken_back(sent) == (lines, plain)
    with pytest.raises(FileNotFoundError):
        shared_memory.SharedMemory(name=sent[1])
    assert _packed(dated) is dated
    assert _taken_back(_handed_back(lines, _packed(dated))) == (lines, dated)
    # One sent back but never taken (a restore stopped part way) is freed all the same.
    left = _handed_back(lines, _packed(plain))
    _let_go(left)
    with pytest.raises(FileNotFoundError):
        shared_memory.SharedMemory(name=left[1])
