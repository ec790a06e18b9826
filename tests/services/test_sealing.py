"""Sealing personal values against a real store and, through the application layer, the dev server: every
personal field type opens as validated; a changed, truncated or moved token never opens (SealBroken), an erased
one says Erased; without the right key-encryption key nothing is sealed, shown or changed; KEKs rotate."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from domain import InvalidData
from domain.documents import MEDIA_TYPES, safe_name
from domain.forms import ISO_639_1, validate_form
from domain.limits import MAX_TEXT_CHARS
from domain.personal import SEALED_PREFIX, is_sealed
from domain.template import NAMING_TYPES, FieldType, FormField
from services.app import Coopflow
from services.codec import new_key, parse_keys
from services.sealing import Erased, KeyEncryptionKeys, PersonalDataLocked, SealBroken, Sealer
from store.db import writer_lock
from store.models import DataKey
from store.personal import add_data_key, data_key, data_keys, erase_in
from tests.utils.app import LEAD, PARTNERS, actor, start

PROPERTIES = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
NAME, BORN = "Љиљана Петровић-Krasniqi", "1991-04-02"
CONSENT = {"person_name": NAME, "date_of_birth": BORN, "consent": True, "consent_on": "2026-01-04"}

# what a person may type: no lone surrogate, no C0 control but tab and line breaks, no DEL (domain/limits.py)
CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="".join(
    chr(c) for c in (*range(9), 11, 12, *range(14, 32), 127)))
LINE = st.text(CHARS, max_size=40)
CODE = st.sampled_from(sorted(ISO_639_1)).flatmap(lambda c: st.sampled_from([c, c.upper(), f" {c} "]))
WORD = st.sampled_from(["true", "on", "1", "yes", "false", "off", "0", "no"])
# the input of each type a personal field may have, as a person (form or JSON) may send it
RAW: dict[str, st.SearchStrategy[Any]] = {
    "text": st.text(CHARS, min_size=1, max_size=300).filter(str.strip) | st.just("😀" * MAX_TEXT_CHARS),
    "text_list": st.lists(LINE, min_size=1, max_size=8) | st.lists(LINE, max_size=8).map("\n".join).filter(str.strip),
    "language_list": st.lists(CODE, min_size=1, max_size=6) | st.lists(CODE, min_size=1, max_size=6).map(",".join),
    "int": (st.integers(-10**39 + 1, 10**39 - 1) | st.integers(-10**30, 10**30).map(lambda n: f" {n:+d} ")
            | st.integers(-2**53, 2**53).map(float)),
    "decimal": (st.decimals(-10**20, 10**20, places=4).map(str) | st.integers(-10**30, 10**30)
                | st.floats(-1e15, 1e15).filter(lambda x: x == 0 or abs(x) > 1e-9)
                | st.sampled_from(["1e3", " -2.50E+7 ", "250000.00", "-0", "0.000"])),
    "date": st.dates().map(lambda d: d.isoformat()) | st.dates().map(lambda d: f"{d.year:04}{d.month:02}{d.day:02}"),
    "bool": st.booleans() | WORD.flatmap(lambda w: st.sampled_from([w, w.upper(), f" {w.title()} "])),
    "file": st.fixed_dictionaries({"sha256": st.text("0123456789abcdef", min_size=64, max_size=64),
                                   "name": st.text(CHARS, min_size=1, max_size=80).map(safe_name),
                                   "size": st.integers(0, 10**12), "media_type": st.sampled_from(sorted(MEDIA_TYPES))}),
}


def normalised(kind: str, raw: Any) -> Any:
    """What the application seals: the value as ``validate_form`` accepts and normalises it (an empty one,
    left out of the form, is not sealed)."""
    try:
        form = validate_form([FormField(name="value", type=kind, personal=True)], {"value": raw})
    except InvalidData:
        reject()
    return form["value"] if "value" in form else reject()


def flipped(token: str, byte: int, bit: int) -> str:
    """``token`` with one bit of its bytes flipped, written again as well-formed base64url."""
    body = token.removeprefix(SEALED_PREFIX)
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[byte % len(raw)] ^= 1 << bit
    return SEALED_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def assert_broken(opening: Callable[[], Any], place: str) -> None:
    """``opening`` raises SealBroken, saying where (``task.field``) and why."""
    with pytest.raises(SealBroken) as caught:
        opening()
    message = caught.value.message
    assert place in message and "was changed" in message and "belongs to another field, task or project" in message


@pytest.fixture(scope="module")
def keks() -> KeyEncryptionKeys:
    return KeyEncryptionKeys(parse_keys(new_key("sealing-tests")), "these tests")


@pytest.fixture
def project_ids(sqlite_engine: Engine) -> Iterator[Callable[[], str]]:
    """Fresh project ids; their data keys are deleted afterwards (a rewrap walks every key in the store,
    and no other process has this module's KEK)."""
    made: list[str] = []

    def fresh() -> str:
        made.append(f"sealing{uuid.uuid4().hex[:10]}")
        return made[-1]
    yield fresh
    with writer_lock(sqlite_engine), sqlite_engine.begin() as conn:
        conn.execute(delete(DataKey.__table__).where(DataKey.__table__.c.project_id.in_(made)))  # type: ignore[attr-defined]


@pytest.fixture
def pid(project_ids: Callable[[], str]) -> str:
    """One project for every example of a property test (its data key made by the first)."""
    return project_ids()


# -- 1. every personal field type opens as it was validated -----------------------------------------

def test_every_type_a_personal_field_may_have_is_generated():
    """A field type added to the templates (and not one naming assignees) needs its strategy here."""
    assert set(RAW) == set(get_args(FieldType)) - set(NAMING_TYPES)


@pytest.mark.parametrize("kind", sorted(RAW))
@PROPERTIES
@given(data=st.data())
def test_a_sealed_value_opens_as_the_value_validated(sqlite_engine, keks, pid, kind, data):
    """Sealed by one Sealer, opened by another (its data key read from the store and unwrapped): the same
    value, of the same JSON type; each seal has its own nonce."""
    value = normalised(kind, data.draw(RAW[kind], label="input"))
    token = Sealer(sqlite_engine, keks, pid).seal("case", "t1", "value", value)
    assert is_sealed(token) and token != Sealer(sqlite_engine, keks, pid).seal("case", "t1", "value", value)
    opened = Sealer(sqlite_engine, keks, pid).open("case", "t1", "value", token)
    assert opened == value and type(opened) is type(value)


# -- 2. a token changed, truncated, moved or erased does not open -------------------------------------

@PROPERTIES
@given(byte=st.integers(min_value=0), bit=st.integers(0, 7))
def test_a_token_with_any_bit_changed_does_not_open(sqlite_engine, keks, pid, byte, bit):
    """Any one bit of nonce, ciphertext or tag flipped — the token still well-formed — is caught by GCM."""
    changed = flipped(Sealer(sqlite_engine, keks, pid).seal("case", "t1", "person_name", NAME), byte, bit)
    assert is_sealed(changed), "still a well-formed token: only the seal can tell"
    assert_broken(lambda: Sealer(sqlite_engine, keks, pid).open("case", "t1", "person_name", changed),
                  "t1.person_name")


@PROPERTIES
@given(data=st.data())
def test_a_truncated_token_does_not_open(sqlite_engine, keks, pid, data):
    """A token cut short, still of a token's shape (its base64url perhaps no longer decodable), does not open."""
    token = Sealer(sqlite_engine, keks, pid).seal("case", "t1", "needs", data.draw(RAW["text"], label="value"))
    short = token[:-data.draw(st.integers(1, len(token) - len(SEALED_PREFIX) - 38), label="cut")]
    assert is_sealed(short)
    assert_broken(lambda: Sealer(sqlite_engine, keks, pid).open("case", "t1", "needs", short), "t1.needs")


def test_a_token_moved_to_another_field_task_subject_or_project_does_not_open(sqlite_engine, keks, project_ids):
    """The associated data binds a value to its project, task and field; the key, to its subject. The very
    same key kept under another project id proves the project is bound by the associated data too."""
    pid, other, copy = project_ids(), project_ids(), project_ids()
    here = Sealer(sqlite_engine, keks, pid)
    token = here.seal("case", "t1", "person_name", NAME)
    here.seal("task-t1", "t1", "speaker", "someone")  # the key of another subject of the project
    Sealer(sqlite_engine, keks, other).seal("case", "t1", "person_name", "someone else")  # its own key
    # the very same key bytes, kept (wrapped) under another project id
    raw = keks.unwrap(data_key(sqlite_engine, pid, "case") or {})
    kek_id, wrapped = keks.wrap(copy, "case", raw)
    add_data_key(sqlite_engine, project_id=copy, subject="case", kek_id=kek_id, wrapped=wrapped,
                 created_at="2027-01-04T00:00:00.000000Z")
    assert Sealer(sqlite_engine, keks, copy).fingerprint_key("case") == here.fingerprint_key("case"), "same key"

    assert Sealer(sqlite_engine, keks, pid).open("case", "t1", "person_name", token) == NAME, "where it belongs"
    assert_broken(lambda: here.open("case", "t1", "date_of_birth", token), "t1.date_of_birth")
    assert_broken(lambda: here.open("case", "t2", "person_name", token), "t2.person_name")
    assert_broken(lambda: here.open("task-t1", "t1", "person_name", token), "t1.person_name")
    for project in (other, copy):
        assert_broken(lambda p=project: Sealer(sqlite_engine, keks, p).open("case", "t1", "person_name", token),
                      f"t1.person_name in project {project}")


@pytest.mark.parametrize("value", [NAME, "", SEALED_PREFIX, SEALED_PREFIX + "*" * 40, "sealed:v2:" + "A" * 40, None])
def test_what_is_not_a_token_does_not_open(sqlite_engine, keks, project_ids, value):
    """A value in clear (a leak, or a template changed after sealing) is refused as such, naming its place."""
    sealer = Sealer(sqlite_engine, keks, project_ids())
    sealer.seal("case", "t1", "person_name", NAME)
    with pytest.raises(SealBroken, match=r"^The value of t1\.person_name is not a sealed value\.$"):
        sealer.open("case", "t1", "person_name", value)


def test_after_its_key_is_destroyed_a_token_is_erased_not_broken(sqlite_engine, keks, project_ids):
    """Erased, not SealBroken: an erased value is shown as erased, never as tampering."""
    pid = project_ids()
    token = Sealer(sqlite_engine, keks, pid).seal("case", "t1", "person_name", NAME)
    with writer_lock(sqlite_engine), sqlite_engine.begin() as conn:
        assert erase_in(conn, pid) == 1
    with pytest.raises(Erased):
        Sealer(sqlite_engine, keks, pid).open("case", "t1", "person_name", token)


# -- 3. key-encryption keys, through the application layer (both databases) --------------------------

TESTS_KEK = os.environ.get("COOPFLOW_PERSONAL_DATA_KEYS", "")  # "tests:…", what tests/conftest.py set


def keys(*listed: str) -> KeyEncryptionKeys:
    return KeyEncryptionKeys(parse_keys(",".join(listed)), "this test")


def process(app: Coopflow, keks: KeyEncryptionKeys | Callable[[], KeyEncryptionKeys | None]) -> Coopflow:
    """Another process of ``app``'s deployment (store, Temporal, task queue, documents) with other KEKs."""
    return Coopflow(engine=app.engine, client=app.client, task_queue=app.task_queue, documents=app.documents,
                    key_encryption_keys=keks)


async def referral(app: Coopflow, *, consent: bool = True) -> str:
    """A return referral, its consent (with the person's name and birth date) recorded by ``app``."""
    pid: str = (await app.start_project(actor(app, LEAD), title="Case 2027-014", partners=PARTNERS,
                                        template="return-referral"))["id"]
    if consent:
        await app.complete_task(actor(app, LEAD), pid, "t1", data=CONSENT)
    return pid


def consent_task(app: Coopflow, pid: str) -> dict[str, Any]:
    return next(t for t in app.show_project(actor(app, LEAD), pid)["tasks"] if t["id"] == "t1")


async def test_without_keks_nothing_personal_is_sealed_or_opened_and_nothing_changes(app: Coopflow):
    """A process with no KEK configured refuses to complete a task with personal values before Temporal
    sees it (no event, no data key, the task open) and to show them; a project without any still reads."""
    locked, lead = process(app, lambda: None), actor(app, LEAD)
    pid = await referral(app, consent=False)
    events = list(app.list_events(lead, pid))
    for request_id in (None, "consent-1"):
        with pytest.raises(PersonalDataLocked, match=r"set COOPFLOW_PERSONAL_DATA_KEYS.*nothing was changed"):
            await locked.complete_task(lead, pid, "t1", data=CONSENT, request_id=request_id)
    assert consent_task(app, pid)["status"] == "open"
    assert list(app.list_events(lead, pid)) == events
    assert data_keys(app.engine, pid) == [], "no data key was made"

    await app.complete_task(lead, pid, "t1", data=CONSENT)
    with pytest.raises(PersonalDataLocked, match="no key-encryption key for personal data: set COOPFLOW_PERSONAL"):
        locked.show_project(lead, pid)
    plain = (await start(app, title="Pilot without personal data"))["id"]
    assert locked.show_project(lead, plain)["title"] == "Pilot without personal data"


async def test_a_process_with_another_kek_names_the_kek_that_wrapped_the_key(app: Coopflow):
    """Another KEK id, or the same id with other bytes: refused, naming the KEK the data key is wrapped by."""
    pid = await referral(app)
    with pytest.raises(PersonalDataLocked, match="wrapped by the key-encryption key 'tests', which this process"):
        process(app, keys(new_key("other"))).show_project(actor(app, LEAD), pid)
    with pytest.raises(PersonalDataLocked, match="does not open with the key-encryption key 'tests'"):
        process(app, keys(new_key("tests"))).show_project(actor(app, LEAD), pid)  # same id, other bytes


@pytest.fixture
def new_kek(app: Coopflow) -> Iterator[str]:
    """A new KEK ``new``; afterwards every data key is wrapped by the tests' KEK again, for the other tests."""
    key = new_key("new")
    yield key
    if any(row["kek_id"] == "new" for row in data_keys(app.engine)):
        process(app, keys(TESTS_KEK, key)).rewrap_data_keys()


async def test_rotation_rewraps_every_data_key_with_the_new_kek(app: Coopflow, new_kek: str):
    """The new KEK first, the old after: reads, rewraps every key (once), and then the new KEK alone opens."""
    pid = await referral(app)
    rotating = process(app, keys(new_kek, TESTS_KEK))
    assert consent_task(rotating, pid)["data"]["person_name"] == NAME, "reads with the old KEK listed after"
    before = data_keys(app.engine)
    ours = [r for r in before if r["kek_id"] == "tests"]
    assert data_keys(app.engine, pid) and ours
    foreign = [{k: r[k] for k in ("project_id", "subject", "kek_id")} for r in before if r["kek_id"] != "tests"]
    # (keys of other tests' throw-away KEKs, if any: left, and listed, as a deployment's unknown ones are)
    assert rotating.rewrap_data_keys() == {"kek": "new", "rewrapped": len(ours), "current": 0, "unopened": foreign}
    assert {r["kek_id"] for r in data_keys(app.engine, pid)} == {"new"}
    only_new = process(app, keys(new_kek))
    assert {k: consent_task(only_new, pid)["data"][k] for k in ("person_name", "date_of_birth")} == {
        "person_name": NAME, "date_of_birth": BORN}
    with pytest.raises(PersonalDataLocked, match="key-encryption key 'new'"):
        app.show_project(actor(app, LEAD), pid)  # the old KEK alone no longer opens it: really rewrapped
    assert only_new.rewrap_data_keys() == {"kek": "new", "rewrapped": 0, "current": len(ours), "unopened": foreign}
