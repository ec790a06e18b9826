"""Who a write's mails go to, read with the write's own connection."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from services.seed import demo_email
from store.outbox import org_names, people_of


def test_the_people_of_organisations_and_every_auditor(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        found = people_of(conn, {"caritas-rs", "auditor"})  # (other tests may have added people to this store)
        assert demo_email("caritas-rs") in [p.email for p in found["caritas-rs"]]
        assert {p.org for p in found["caritas-rs"]} == {"caritas-rs"}
        assert demo_email("audit-office") in [p.email for p in found["auditor"]]  # by role, whatever the org
        assert {p.role for p in found["auditor"]} == {"auditor"}
        assert people_of(conn, {"auditor"})["auditor"] == found["auditor"]
        assert people_of(conn, {"caritas-rs"}).keys() == {"caritas-rs"}  # no auditors unless asked
        assert people_of(conn, {"no-such-org"}) == {"no-such-org": []}
        assert org_names(conn, {"caritas-rs", "no-such-org"}) == {"caritas-rs": "Caritas Srbija"}
