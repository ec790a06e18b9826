"""Project templates as data: phases, steps, forms, outcomes, deadlines, recurrence."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
)

from domain.durations import parse_duration

KEY = r"^[a-z0-9_]+$"
# ``named``: the organisation (or organisations, one task each) named in a field of an earlier completion
Assignee = Literal["coordinator", "each_partner", "any_partner", "auditor", "named"]
StepKind = Literal["submission", "decision", "signature", "review"]
# ``file``: a document's record; ``org``: one organisation of the project; ``assignments``: entries of
# an organisation, a title and perhaps a due date, one task each for a step ``named_in`` that field
FieldType = Literal["text", "text_list", "language_list", "int", "decimal", "date", "bool", "file", "org",
                    "assignments"]
NAMING_TYPES = ("org", "assignments")
Then = Literal["continue", "next_phase", "end_project", "reopen", "reopen_subject", "extend"]
Titles = dict[str, str]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Unwritten(_Model):
    """A model whose ``_UNWRITTEN`` groups of fields are left out of its dump while every field of the
    group has its default: a template's dump is in its projects' first event, hashed, and recomputed
    when a workflow replays, so fields added later must not change the dump of a template that does
    not use them. (Fields added together form one group: templates that use one of them wrote all.)"""

    _UNWRITTEN: ClassVar[tuple[tuple[str, ...], ...]] = ()

    @model_serializer(mode="wrap")
    def _leave_out_unused(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for group in self._UNWRITTEN:
                if all(getattr(self, name) == type(self).model_fields[name].default for name in group):
                    for name in group:
                        data.pop(name, None)
        return data


# the range each kind of duration may take, in days: a deadline of less than an hour or more than
# five years, or a report every few seconds, is a mistake (and far-away dates overflow the calendar)
DURATION_RANGES: dict[str, tuple[float, float, str]] = {
    "due": (1 / 24, 5 * 366, "from one hour (PT1H) to five years (P5Y)"),
    "every": (1, 366, "from one day (P1D) to one year (P1Y)"),
    "remind_before": (1 / 24, 366, "from one hour (PT1H) to one year (P1Y)"),
    "escalate_after": (1 / 24, 366, "from one hour (PT1H) to one year (P1Y)"),
    "parameter": (1 / 24, 5 * 366, "from one hour (PT1H) to five years (P5Y)"),
    "retention": (1, 30 * 366, "from one day (P1D) to thirty years (P30Y)"),
}


def check_duration(value: str, kind: str) -> str:
    """``value`` if it is an ISO 8601 duration in the range of its kind, else ``ValueError``."""
    low, high, said = DURATION_RANGES[kind]
    if not low <= parse_duration(value).approx_days() <= high:
        raise ValueError(f"{value} is out of range: {kind} must be {said}")
    return value


def _check_duration(value: str, info: ValidationInfo) -> str:
    return check_duration(value, info.field_name or "due")


# Whose data a personal field holds, and so which data key seals it: ``case`` — the one person a
# project is about (a return referral) —, or ``task`` — a person of each task (each speaker of an
# expert day): every task's own key.
Subject = Literal["case", "task"]


# whom an ``org`` or ``assignments`` field may name: any organisation of the project, or its partners
# only (a person is referred to a partner abroad, never to the lead itself)
OrgChoice = Literal["members", "partners"]
# ``today``: a date bound relative to the moment of the completion (see ``domain.forms``)
DateBound = Literal["today"]


class FormField(_Unwritten):
    _UNWRITTEN = (("personal",), ("subject",), ("not_before", "not_after"), ("orgs",))

    name: str = Field(pattern=KEY)
    type: FieldType
    required: bool = False
    min: Decimal | None = None
    max: Decimal | None = None
    must_be_true: bool = False
    personal: bool = False  # about a person: sealed, shown only to the organisations involved and auditors
    subject: Subject = "case"  # a personal field's data subject
    not_before: DateBound | None = None  # a date field's earliest value: no expert day in the past
    not_after: DateBound | None = None  # a date field's latest value: no birth or consent in the future
    orgs: OrgChoice = "members"  # whom an org or assignments field may name
    label: Titles = {}


class Outcome(_Model):
    name: str = Field(pattern=KEY)
    then: Then = "continue"
    step: str | None = None
    status: Literal["rejected", "cancelled"] | None = None
    title: Titles = {}


class Recurrence(_Model):
    """``count`` and ``every`` are literals or ``$parameter`` references."""

    count: int | str
    every: str


class NamedIn(_Model):
    """Where a ``named`` step finds its assignees: a field (``org`` or ``assignments``) of an earlier step."""

    step: str = Field(pattern=KEY)
    field: str = Field(pattern=KEY)


class Step(_Unwritten):
    _UNWRITTEN = (("named_in",),)

    key: str = Field(pattern=KEY)
    title: Titles = {}
    assignee: Assignee
    kind: StepKind
    after: list[str] = []
    after_each: str | None = None
    due: str = "P14D"
    form: list[FormField] = []
    outcomes: list[Outcome] = []
    recurrence: Recurrence | None = None
    named_in: NamedIn | None = None  # for ``assignee: named``

    _due = field_validator("due")(_check_duration)

    def outcome(self, name: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.name == name), None)

    def form_field(self, name: str) -> FormField:
        return next(f for f in self.form if f.name == name)


class Phase(_Model):
    key: str = Field(pattern=KEY)
    title: Titles = {}
    steps: list[Step] = Field(min_length=1)


class Parameter(_Model):
    type: Literal["int", "duration"]
    default: int | str
    min: int | None = None
    max: int | None = None
    title: Titles = {}


EXTENSION_STEP = "extension_decision"  # opened when a partner asks for more time; in no phase


def _default_extension_step() -> Step:
    """The coordinator's decision on a request for more time, for templates that do not define their own."""
    comment = {"en": "Comment", "de": "Kommentar", "sr": "Komentar", "mk": "Коментар", "sq": "Koment"}
    return Step(
        key=EXTENSION_STEP, assignee="coordinator", kind="decision", due="P7D",
        title={"en": "Decide on more time", "de": "Über eine Fristverlängerung entscheiden",
               "sr": "Odluka o produženju roka", "mk": "Одлука за продолжување на рокот",
               "sq": "Vendim për zgjatjen e afatit"},
        form=[FormField(name="comment", type="text", label=comment)],
        outcomes=[Outcome(name="grant", title={"en": "Grant", "de": "Gewähren", "sr": "Odobri", "mk": "Одобри",
                                               "sq": "Mirato"}),
                  Outcome(name="decline", title={"en": "Decline", "de": "Ablehnen", "sr": "Odbij", "mk": "Одбиј",
                                                 "sq": "Refuzo"})])


class Template(_Unwritten):
    # added with version 2 of the default template: a description, reminders, escalation, requests for
    # more time (a template of before then dumps as it did); then how long personal data is kept
    _UNWRITTEN = (("description", "remind_before", "escalate_after", "extension_step"), ("retention",))

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    version: int = Field(ge=1)
    title: Titles = {}
    description: Titles = {}
    parameters: dict[str, Parameter] = {}
    phases: list[Phase] = Field(min_length=1)
    # reminders and escalation (none when left out, as in templates before they existed)
    remind_before: str | None = None  # a reminder this long before a task is due
    escalate_after: str | None = None  # the lead's coordinators are told when a task is this long overdue
    extension_step: Step | None = None  # the decision on a request for more time (a default when left out)
    # how long after the project ends its personal data is kept; then it is erased (none: until a coordinator
    # erases it)
    retention: str | None = None

    _remind = field_validator("remind_before", "escalate_after", "retention")(
        lambda v, info: v if v is None else _check_duration(v, info))

    def steps(self) -> Iterator[tuple[Phase, Step]]:
        for phase in self.phases:
            for step in phase.steps:
                yield phase, step

    def step(self, key: str) -> Step:
        if key == EXTENSION_STEP:
            return self.extension()
        try:
            return self._derived()[1][key]
        except KeyError:
            raise KeyError(f"the template has no step {key!r}") from None

    def _derived(self) -> tuple[object, dict[str, Step], bool]:
        """What the lookups derive from the phases: each step by its key, and whether any field is about a
        person. Built once (a template is frozen), and again for a copy made with other phases."""
        kept: tuple[object, dict[str, Step], bool] | None = self.__dict__.get("_kept")
        if kept is None or kept[0] is not self.phases:
            steps = [s for _, s in self.steps()]
            kept = self.phases, {s.key: s for s in steps}, any(f.personal for s in steps for f in s.form)
            self.__dict__["_kept"] = kept  # beside the fields: not dumped, not compared
        return kept

    def naming_sources(self) -> set[str]:
        """The steps whose completions name the assignees of a later step (their data is kept)."""
        return {s.named_in.step for _, s in self.steps() if s.named_in is not None}

    def has_personal_fields(self) -> bool:
        return self._derived()[2]

    def personal_fields(self, key: str) -> set[str]:
        """The fields of a step that are about a person."""
        return {f.name for f in self.step(key).form if f.personal}

    def subject_of(self, step: str, field: str, task_id: str) -> str:
        """The data subject whose key seals a personal field's value in a task: ``case``, or ``task-<id>``."""
        return "case" if self.step(step).form_field(field).subject == "case" else f"task-{task_id}"

    def extension(self) -> Step:
        """The decision on a request for more time: the template's own, or the default."""
        return self.extension_step or _default_extension_step()

    def phase(self, key: str) -> Phase:
        return next(p for p in self.phases if p.key == key)

    def next_phase(self, key: str) -> Phase | None:
        keys = [p.key for p in self.phases]
        index = keys.index(key) + 1
        return self.phases[index] if index < len(keys) else None

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "title": self.title, "description": self.description,
                "phases": [p.key for p in self.phases]}
