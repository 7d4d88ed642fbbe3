"""The learning-rate schedule of a time-budgeted run: it decays to zero as the budget runs out."""

from __future__ import annotations

import math

import pytest

from medtuned_core.train.schedule import BudgetSchedule


def test_without_a_pace_it_is_the_usual_warmup_then_linear_decay_to_max_steps():
    schedule = BudgetSchedule("linear", 60).start(warmup_steps=4, max_steps=104)
    assert [schedule(s) for s in (0, 2, 4)] == [0.0, 0.5, 1.0]
    assert schedule(54) == pytest.approx(0.5) and schedule(104) == 0.0 and schedule(500) == 0.0


def test_the_decay_is_stretched_over_the_steps_the_budget_allows():
    schedule = BudgetSchedule("linear", 60).start(warmup_steps=0, max_steps=1000)
    schedule.update(1, 10.0)  # the first step carries start-up costs: not a measure of the pace
    assert schedule.planned_steps == 1000
    schedule.update(3, 14.0)  # 2 s a step from here on, 46 s left: 23 more steps
    assert schedule.planned_steps == 26 and schedule(13) == pytest.approx(0.5) and schedule(26) == 0.0
    schedule.update(20, 80.0)  # over budget (slowed down): the next step is the last, at rate zero
    assert schedule.planned_steps == 21 and schedule(21) == 0.0


def test_max_steps_still_caps_a_generous_budget_and_cosine_is_supported():
    schedule = BudgetSchedule("cosine", 3600).start(warmup_steps=0, max_steps=50)
    schedule.update(1, 1.0)
    schedule.update(11, 2.0)  # 0.1 s a step: the budget would allow ~36,000 steps
    assert schedule.planned_steps == 50
    assert schedule(25) == pytest.approx(0.5) and schedule(0) == 1.0 and math.isclose(schedule(50), 0.0, abs_tol=1e-12)


def test_other_schedules_are_refused():
    with pytest.raises(ValueError, match="linear or cosine"):
        BudgetSchedule("constant", 60)
