"""The demo organisations and users that `coopflow dev` creates on first run."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from store import accounts

DEMO_ORGS = [  # id, name, country, role of its user, language of its user
    ("stadt-dortmund", "Stadt Dortmund – Transnationale Zusammenarbeit", "DE", "coordinator", "de"),
    ("caritas-rs", "Caritas Srbija", "RS", "partner", "sr"),
    ("horizon-civitas-mk", "Horizon Civitas", "MK", "partner", "mk"),
    ("different-and-equal-al", "Different and Equal", "AL", "partner", "sq"),
    ("audit-office", "Rechnungsprüfungsamt", "DE", "auditor", "de"),
]
DEMO_PASSWORD = "coopflow-demo"  # noqa: S105 - the demo users' documented password


def demo_email(org_id: str) -> str:
    return f"{org_id.split('-')[0]}@demo.coopflow.example"


def seed_demo(engine: Engine) -> list[dict[str, str]] | None:
    """Create the demo organisations and one user each, unless the store has organisations already.

    Returns the users with their tokens (shown once), or None when nothing was created.
    """
    if accounts.has_orgs(engine):
        return None
    users = []
    for org_id, name, country, role, lang in DEMO_ORGS:
        accounts.add_org(engine, org_id=org_id, name=name, country=country)
        user, token = accounts.add_user(engine, email=demo_email(org_id), org_id=org_id, role=role,
                                        name=f"Demo {role}", password=DEMO_PASSWORD, lang=lang)
        users.append({"email": user.email, "org": org_id, "role": role, "token": token})
    return users
