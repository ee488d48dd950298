"""The failure budget: which finished variants stop a batch, and the reason it gives."""

import pytest

from epbatch.results.records import VariantResult
from epbatch.run.budget import FailureBudget

BROKEN = "GetSurfaceData: Errors discovered, program terminates."


def ok() -> VariantResult:
    return VariantResult("b", "v", "m.idf", "w.epw", "s", "succeeded", 2.0)


def failed(error: str = BROKEN) -> VariantResult:
    return VariantResult("b", "v", "m.idf", "w.epw", "s", "failed", 0.5, error=error)


def feed(budget: FailureBudget, results: list[VariantResult]) -> list[str | None]:
    return [budget.add(r) for r in results]


@pytest.mark.parametrize(("total", "first"), [(1, 3), (3, 3), (30, 3), (31, 4), (100, 10)])
def test_the_first_rule_looks_at_max_3_and_a_tenth_rounded_up(total, first):
    assert FailureBudget(total).first == first


def test_the_first_three_failing_alike_stop_at_the_third():
    budget = FailureBudget(total=30)
    assert feed(budget, [failed(), failed(f"  {BROKEN}\n")]) == [None, None]  # spaces aside
    assert budget.add(failed()) == (
        f"stopped: the first 3 finished variants all failed with the same message: {BROKEN}"
    )
    assert budget.add(ok()) == budget.reason  # the first rule broken is kept


@pytest.mark.parametrize(
    "first_three",
    [
        [failed("a"), failed("a"), failed("b")],  # different messages
        [ok(), failed(), failed()],  # a success among them (a cached one counts too)
        [failed(), failed(), ok()],
    ],
)
def test_the_first_rule_needs_every_one_of_them_failed_alike(first_three):
    budget = FailureBudget(total=30)
    assert feed(budget, first_three) == [None] * 3
    assert budget.add(failed()) is None  # the 4th is past the first rule's window
    assert budget.reason is None


def test_the_first_rule_window_grows_with_the_batch():
    budget = FailureBudget(total=100, share=1.0)
    assert feed(budget, [failed()] * 9) == [None] * 9
    assert budget.add(failed()) is not None
    assert budget.reason is not None and budget.reason.startswith("stopped: the first 10 ")


def test_a_batch_smaller_than_the_window_never_stops_by_the_first_rule():
    budget = FailureBudget(total=2)
    assert feed(budget, [failed(), failed()]) == [None, None]


def test_a_long_shared_message_is_shortened_in_the_reason():
    budget = FailureBudget(total=3)
    reason = feed(budget, [failed("x" * 1000)] * 3)[-1]
    assert reason is not None and reason.endswith("x…") and len(reason) < 400


def test_the_share_rule_waits_for_10_ended_then_stops_past_the_budget():
    budget = FailureBudget(total=50)
    results = [ok(), *[failed(f"timeout {i}") for i in range(8)]]
    assert feed(budget, results) == [None] * 9  # 8 of 9 failed: fewer than 10 ended
    assert budget.add(ok()) == "stopped: 8 of 10 finished variants failed (failure_budget 0.5)"


def test_the_share_rule_stops_once_more_than_the_budget_failed():
    budget = FailureBudget(total=50)
    assert feed(budget, [ok()] * 4 + [failed(f"e{i}") for i in range(5)]) == [None] * 9
    assert budget.add(failed("e5")) == (
        "stopped: 6 of 10 finished variants failed (failure_budget 0.5)"
    )


@pytest.mark.parametrize("share", [0.3, 0.5])
def test_exactly_the_budget_does_not_stop(share):
    failures = round(share * 10)
    budget = FailureBudget(total=50, share=share)
    results = [ok()] * (10 - failures) + [failed(f"e{i}") for i in range(failures)]
    assert feed(budget, results) == [None] * 10
    assert budget.add(failed("one more")) is not None


def test_a_budget_of_1_disables_the_share_rule_only():
    budget = FailureBudget(total=50, share=1.0)
    assert feed(budget, [ok()] + [failed(f"e{i}") for i in range(49)]) == [None] * 50
    same = FailureBudget(total=50, share=1.0)
    assert feed(same, [failed()] * 5)[-1] is not None  # the first rule still applies
