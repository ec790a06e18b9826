"""Use cases: personal data — sealed where it enters, opened for those who may read it (and each time
noted), erased on request or when its retention period ends, and given to the lead as the person's
copy (GDPR Art. 15) with the log of who was shown it (Art. 5(2)). How: docs/personal-data.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from typing import Any

from domain import Actor, ErasePersonalData, Forbidden, InvalidRequest, NotErasable, Template
from domain.changes import check_reason, not_erasable
from services import access
from services.base import AppBase, personal_state
from services.sealing import NO_KEKS, PersonalDataLocked, Sealer, open_data
from services.updates import send_update, update_id
from store import EventFilter, iter_events
from store import personal as store
from workflows import ProjectWorkflow

COMPLETIONS = ("StepCompleted", "DecisionRecorded")


class PersonalData(AppBase):
    # -- sealed where it enters -----------------------------------------------------------
    @staticmethod
    def seal_form(sealer: Sealer, template: Template, step: str, task_id: str, form: dict[str, Any],
                  given: dict[str, Any]) -> dict[str, Any]:
        """``given`` (what the person sent) with the personal values of ``form`` (the same, validated and
        normalised) sealed in place of theirs: what the completion carries to Temporal."""
        sealed = dict(given)
        for field in template.step(step).form:
            if field.personal and form.get(field.name) is not None:
                subject = template.subject_of(step, field.name, task_id)
                sealed[field.name] = sealer.seal(subject, task_id, field.name, form[field.name])
        return sealed

    # -- opened for those who may read it, and noted ------------------------------------------
    def open_events(self, actor: Actor, project: dict[str, Any], template: Template,
                    events: Iterable[dict[str, Any]], via: str) -> Iterator[dict[str, Any]]:
        """Events (as the actor may read them) with their completions' sealed values opened, for a page that
        shows them as labelled values: not for an export, which keeps them sealed (their hashes cover that)."""
        if not template.has_personal_fields():
            yield from events
            return
        sealer, shown = self.sealer(project["id"]), []
        for event in events:
            form = event["data"].get("form") if event["type"] in COMPLETIONS else None
            if isinstance(form, dict) and event.get("step") and event.get("task_id"):
                data, opened, erased = open_data(sealer, template, event["step"], event["task_id"], form)
                shown += [f"{event['task_id']}.{name}" for name in opened]
                if opened or erased:
                    event = {**event, "data": {**event["data"], "form": data}, "erased_fields": erased}
            yield event
        self.note_read(actor, project["id"], list(dict.fromkeys(shown)), via)

    # -- erasure --------------------------------------------------------------------------
    def _check_may_erase(self, actor: Actor, project_id: str) -> dict[str, Any]:
        """The lead's coordinators; the project's other members and auditors are refused, others find nothing."""
        project = self._project(actor, project_id)
        if not access.may_change(actor, project):
            raise Forbidden(f"Only a coordinator of the lead organisation ({project['lead']}) can erase or export "
                            "this project's personal data.")
        return project

    def _personal_state(self, project: dict[str, Any]) -> dict[str, Any]:
        if not self.template_of(project).has_personal_fields():
            raise InvalidRequest(
                f"Project {project['id']} holds no personal data: its template has no personal field.",
                {"project": "has no personal data"})
        return personal_state(project)

    async def erase_personal_data(self, actor: Actor, project_id: str, *, reason: str) -> dict[str, Any]:
        """Erase the project's personal data (a running case is cancelled first): its data keys are
        destroyed with the ``PersonalDataErased`` event. Again: the first erasure's answer."""
        project = await asyncio.to_thread(self._check_may_erase, actor, project_id)
        reason = check_reason(reason)
        state = self._personal_state(project)
        if state["status"] == "erased":
            return await asyncio.to_thread(self._erasure_answer, project_id)
        if not state["sealed"]:  # refused here too: its workflow may have ended long ago
            raise not_erasable(project_id)
        # its workflow gone meanwhile (ended by an erasure, retention's say): the store says what happened
        await send_update(self.client, self.engine, project_id, ProjectWorkflow.erase_personal_data,
                          ErasePersonalData(actor=actor, reason=reason), id=update_id("erase", project_id),
                          timeout=self.update_timeout, waiting_for="the erasure", ended=None)
        return await asyncio.to_thread(self._erasure_answer, project_id)

    def _erasure_answer(self, project_id: str) -> dict[str, Any]:
        erased = next((e for e in iter_events(self.engine, project_id, EventFilter(type="PersonalDataErased"))), None)
        if erased is None:  # its workflow is gone without erasing (terminated by an operator, say)
            raise NotErasable(f"Project {project_id}'s workflow is no longer running, and it ended without erasing "
                              "its personal data: an operator must look into it (docs/personal-data.md).",
                              {"project": "workflow ended"})
        return {"erased_at": erased["at"], "values": erased["data"]["values"],
                "documents": erased["data"]["documents"]}

    # -- the person's copy, and who was shown it -------------------------------------------------
    def personal_data(self, actor: Actor, project_id: str, via: str = "export") -> dict[str, Any]:
        """Everything the project holds about its data subjects, opened, and the log of who was shown it
        (the lead's coordinators). After erasure: the fact and time of the erasure, and the log."""
        project = self._check_may_erase(actor, project_id)
        template = self.template_of(project)
        status = self._personal_state(project)
        values: list[dict[str, Any]] = []
        documents: list[dict[str, Any]] = []
        if status["status"] == "kept":
            sealer = self.sealer(project_id)
            for event in iter_events(self.engine, project_id):
                form = event["data"].get("form") if event["type"] in COMPLETIONS else None
                if not isinstance(form, dict) or not event.get("step"):
                    continue
                if status["sealed"]:
                    form, _, _ = open_data(sealer, template, event["step"], event["task_id"], form)
                for field in template.step(event["step"]).form:
                    value = form.get(field.name)
                    if not field.personal or value is None:
                        continue
                    if field.type == "file":
                        documents.append({"sha256": value["sha256"], "name": value["name"],
                                          "task_id": event["task_id"], "field": field.name})
                        continue
                    values.append({"task_id": event["task_id"], "step": event["step"], "field": field.name,
                                   "value": value, "recorded_at": event["at"]})
            shown = [f"{v['task_id']}.{v['field']}" for v in values + documents]
            self.note_read(actor, project_id, list(dict.fromkeys(shown)), via)
        return {"project_id": project_id, "status": status["status"],
                **({k: status[k] for k in ("erased_at", "erased_by", "reason")} if status["status"] == "erased"
                   else {}),
                "sealed": status["sealed"], "values": values, "documents": documents,
                "reads": store.reads(self.engine, project_id)}

    # -- the key-encryption keys ----------------------------------------------------------------
    def rewrap_data_keys(self) -> dict[str, Any]:
        """Every data key wrapped again with the current key-encryption key (operators: after putting a new
        one first in COOPFLOW_PERSONAL_DATA_KEYS); a key erased or rewrapped meanwhile is left as it is. Keys
        wrapped by a KEK this process does not have are left too, and listed (``unopened``): the old KEK
        must stay until they are rewrapped as well."""
        keys = self.key_encryption_keys
        if keys is None:
            raise PersonalDataLocked(NO_KEKS)
        rewrapped = current = 0
        unopened: list[dict[str, str]] = []
        for row in store.data_keys(self.engine):
            if row["kek_id"] == keys.current:
                current += 1
                continue
            try:
                key = keys.unwrap(row)
            except PersonalDataLocked:
                unopened.append({k: row[k] for k in ("project_id", "subject", "kek_id")})
                continue
            kek_id, wrapped = keys.wrap(row["project_id"], row["subject"], key)
            rewrapped += store.rewrap_data_key(self.engine, project_id=row["project_id"], subject=row["subject"],
                                               old=row["wrapped"], kek_id=kek_id, wrapped=wrapped)
        return {"kek": keys.current, "rewrapped": rewrapped, "current": current, "unopened": unopened}
