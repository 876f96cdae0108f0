"""Planning: placing seat holders in parallel sessions, and the plan's provenance."""

from cxc.plan.planning import PlanOutcome, plan_store
from cxc.plan.ready import NotReady, check_ready
from cxc.plan.solver import (
    INFEASIBLE_RULE,
    Move,
    Placement,
    ProgrammePlan,
    Score,
    SessionFill,
    SlotPerson,
    SlotResult,
    SlotSession,
    Weights,
    allowed_sessions,
    kept_plan,
    objective_weights,
    plan_programme,
    score_assignment,
    shared_themes,
    solve_slot,
)

__all__ = [
    "INFEASIBLE_RULE",
    "Move",
    "NotReady",
    "Placement",
    "PlanOutcome",
    "ProgrammePlan",
    "Score",
    "SessionFill",
    "SlotPerson",
    "SlotResult",
    "SlotSession",
    "Weights",
    "allowed_sessions",
    "check_ready",
    "kept_plan",
    "objective_weights",
    "plan_programme",
    "plan_store",
    "score_assignment",
    "shared_themes",
    "solve_slot",
]
