"""The order in which batches stage their rows (stream/sink.py ``_Turns``): fetch order, a failed batch
stages again before the batches after it, and no sequence of failures leaves a later batch waiting for
ever."""

import threading

from citybrain.stream.sink import _Turns


def staged_within(turns: _Turns, ticket: int, seconds: float = 0.5) -> bool:
    """Whether a batch holding ``ticket`` gets its turn within ``seconds``."""
    passed = threading.Event()
    threading.Thread(target=lambda: (turns.wait(ticket), passed.set()), daemon=True).start()
    return passed.wait(seconds)


def test_batches_stage_in_the_order_they_were_fetched():
    turns = _Turns()
    first, second = turns.ticket(), turns.ticket()
    assert staged_within(turns, first)
    assert not staged_within(turns, second)
    turns.done(first)
    assert staged_within(turns, second)


def test_a_batch_that_failed_after_staging_stages_again_before_the_next_one():
    turns = _Turns()
    first, second = turns.ticket(), turns.ticket()
    turns.done(first)
    turns.again(first)  # its transaction failed: it must stage again
    assert not staged_within(turns, second)
    turns.done(first)
    assert staged_within(turns, second)


def test_a_step_back_after_the_next_batch_finished_blocks_no_later_batch_for_ever():
    # the failed batch's session died and released the writers' lock, so the batch after it committed
    # before the failure was seen
    turns = _Turns()
    first, second = turns.ticket(), turns.ticket()
    turns.done(first)
    turns.done(second)
    turns.again(first)
    third = turns.ticket()
    assert not staged_within(turns, third)  # the retried batch first
    turns.done(first)
    assert staged_within(turns, third)
