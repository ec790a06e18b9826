"""Organisations a lead can invite: every other one, not the auditors'."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from store import accounts


def test_partner_candidates_leave_out_the_lead_and_auditors(engine: Engine):
    ids = [o.id for o in accounts.partner_candidates(engine, lead="stadt-dortmund")]
    assert {"caritas-rs", "horizon-civitas-mk", "different-and-equal-al"} <= set(ids)
    assert "stadt-dortmund" not in ids and "audit-office" not in ids
    assert ids == sorted(ids)
