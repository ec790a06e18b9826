"""Use cases: signed checkpoints of a trail, inclusion proofs of single events, and bundles."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from typing import IO, Any

from domain import Actor, Forbidden, NotFound, canonical_json
from domain.merkle import inclusion_proof, trail_leaves
from evidence.notes import NoteError, Verifier, open_checkpoint
from evidence.proofs import (
    BUNDLE_DOCUMENTS,
    BUNDLE_EVENTS,
    BUNDLE_PROJECT,
    BUNDLE_TEMPLATE,
    check_checkpoint,
    document_manifest,
    referenced_documents,
)
from evidence.signing import SigningKeyMissing, checkpoint_trail
from evidence.witnessed import check_witnesses, with_cosignatures
from services import access
from services.base import personal_state
from services.exports import write_jsonl
from services.kept_checks import quick_check
from services.trail import Trail
from store import iter_events, read
from store.checkpoints import alarms, checkpoints, latest_checkpoint
from store.pinned import PinnedTextError
from store.witnesses import cosignatures, project_orgs, statuses, witnesses


class Checkpoints(Trail):
    def public_key(self) -> str:
        """The verifier key of this deployment's checkpoints: ``<name>+<hex key id>+<base64 key>``."""
        return str(self.verifier)

    @property
    def signs(self) -> bool:
        """Whether this process can sign checkpoints: a web app given only the verifier key never does, so its
        pages say where signing happens instead of offering what would fail."""
        try:
            return self.signer is not None
        except SigningKeyMissing:
            return False

    def checkpoint(self, actor: Actor, project_id: str) -> dict[str, Any]:
        """Sign the project's trail now (auditors, the lead); kept append-only with the others."""
        access.check_may_verify(actor, self._project(actor, project_id))
        made = checkpoint_trail(self.engine, self.signer, project_id)
        return {**made, "note": self.cosigned(project_id, made["size"], made["note"])}

    def cosigned(self, project_id: str, size: int, note: str) -> str:
        """The kept note with every cosignature kept of it so far (the log's signature first)."""
        return with_cosignatures(note, cosignatures(self.engine, project_id, size))

    def witnesses(self, actor: Actor, project_id: str) -> dict[str, Any]:
        """The project's organisations that registered a witness, and how their cosigning of the latest kept
        checkpoint goes: ``{size, of, cosigned, orgs: [{org, cosigned, failing_since, refused}]}``."""
        project = self._project(actor, project_id)
        orgs = project_orgs(self.engine, [project_id]).get(project_id, set()) & set(witnesses(self.engine))
        last = latest_checkpoint(self.engine, project_id)
        done = {c["org_id"] for c in cosignatures(self.engine, project_id, last["tree_size"])} if last else set()
        status = statuses(self.engine, project_id)
        rows = [{"org": o, "cosigned": o in done, "failing_since": status.get((project_id, o), {}).get("failing_since"),
                 "unreachable": str(status.get((project_id, o), {}).get("last_error") or "").startswith("unreachable")}
                for o in [project["lead"], *project["partners"]] if o in orgs]
        return {"size": last["tree_size"] if last else None, "of": len(rows),
                "cosigned": sum(r["cosigned"] for r in rows), "orgs": rows}

    def checkpoints(self, actor: Actor, project_id: str) -> list[dict[str, Any]]:
        """The project's checkpoints, oldest first, for those who may read its trail."""
        self._project(actor, project_id)
        return checkpoints(self.engine, project_id)

    def checkpoint_status(self, actor: Actor, project_id: str) -> dict[str, Any] | None:
        """The latest checkpoint checked against the trail in the store now, or None when there is none (its
        tree head from the kept check's frontier and the events written since, docs/verification.md)."""
        project = self._project(actor, project_id)
        last = latest_checkpoint(self.engine, project_id)
        if last is None:
            return None
        checked = self._checked(project, last)[1] or {}
        # the signer's refusals to sign this trail (the latest few): an alarm stays on the page as a record
        return {**checked, "created_at": last["created_at"], "alarms": alarms(self.engine, project_id)[:3],
                "witnesses": self.witnesses(actor, project_id)}

    def overview_check(self, actor: Actor, project_id: str) -> dict[str, Any]:
        """The auditor's landing page's check of one project: ``{chain, checkpoint, plain_personal}``, the chain from
        its kept check (with ``kept``: how far the last full check went, and when), the latest checkpoint against
        it, and whether it is a case whose personal data is kept in clear."""
        project = self._project(actor, project_id)
        access.check_may_verify(actor, project)
        last = latest_checkpoint(self.engine, project_id)
        chain, checkpoint = self._checked(project, last)
        try:  # a case with personal data kept in clear (started before sealing)
            plain = self.template_of(project).has_personal_fields() and not personal_state(project)["sealed"]
        except PinnedTextError:  # its template's text is missing or altered: the full check names it, at seq 1
            plain = False
        return {"chain": chain, "checkpoint": None if last is None else {**(checkpoint or {}),
                                                                        "created_at": last["created_at"]},
                "plain_personal": plain}

    def _checked(self, project: dict[str, Any], last: dict[str, Any] | None
                 ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The quick check from the kept one; else the full check (which keeps a new one when the trail holds),
        and the checkpoint against the events themselves when it does not."""
        quick = quick_check(self.engine, self.verifier, project, last)
        if quick is not None:
            return quick
        chain = self.verified(project)
        quick = quick_check(self.engine, self.verifier, project, last) if chain["ok"] else None
        if quick is not None:
            return chain, quick[1]
        if last is None:
            return chain, None
        events = list(iter_events(self.engine, project["id"]))
        try:
            return chain, check_checkpoint(events, last["note"], self.verifier, project["id"])
        except NoteError as error:  # signed by a key this process does not have (COOPFLOW_SIGNING_KEY differs)
            return chain, {"ok": False, "size": last["tree_size"], "problems": [{"seq": None, "reason": error.message}]}

    def verify_with_checkpoint(self, actor: Actor, project_id: str, note: str, vkey: str) -> dict[str, Any]:
        """The chain's check, and the trail against a checkpoint kept outside the database."""
        result = self.verify(actor, project_id)
        events = list(iter_events(self.engine, project_id))
        result["checkpoint"] = check_checkpoint(events, note, Verifier.parse(vkey), project_id)
        result["problems"] += result["checkpoint"]["problems"]
        result["ok"] = not result["problems"]
        return result

    def verify_witnessed(self, actor: Actor, project_id: str, witness_keys: list[str], quorum: int | None,
                         note: str | None = None, vkey: str | None = None) -> dict[str, Any]:
        """The trail's checks, and the witnesses' cosignatures of ``note`` (with ``vkey``, the log's key), or
        else of the latest kept checkpoint with the cosignatures kept of it."""
        if note is not None and vkey is not None:
            result = self.verify_with_checkpoint(actor, project_id, note, vkey)
        else:
            result = self.verify(actor, project_id)
            last = latest_checkpoint(self.engine, project_id)
            if last is None:
                raise NotFound(f"Project '{project_id}' has no checkpoint yet for witnesses to have cosigned.",
                               {"checkpoint": "none kept"})
            note = self.cosigned(project_id, last["tree_size"], last["note"])
        result["witnesses"] = check_witnesses(note, witness_keys, quorum)
        result["problems"] += result["witnesses"]["problems"]
        result["ok"] = not result["problems"]
        return result

    def prove(self, actor: Actor, project_id: str, seq: int, note: str | None = None) -> dict[str, Any]:
        """One event with its RFC 6962 inclusion proof in a signed checkpoint (``note``, else the latest
        kept checkpoint that covers it, else a new one)."""
        project = self._project(actor, project_id)
        events = list(iter_events(self.engine, project_id))
        if 1 <= seq <= len(events):
            self._check_may_read_whole(actor, project, events[seq - 1])
        if note is None:
            last = latest_checkpoint(self.engine, project_id)
            note = (self.cosigned(project_id, last["tree_size"], last["note"]) if last and last["tree_size"] >= seq
                    else self.checkpoint(actor, project_id)["note"])
        size = open_checkpoint(note, self.verifier).size
        if not 1 <= seq <= min(size, len(events)):
            raise NotFound(f"Project '{project_id}' has no event {seq} under a checkpoint of {size} events.",
                           {"seq": "out of range"})
        leaves = trail_leaves([e["hash"] for e in events[:size]])
        return {"project_id": project_id, "event": events[seq - 1], "leaf_index": seq - 1, "tree_size": size,
                "inclusion_proof": [base64.b64encode(h).decode() for h in inclusion_proof(leaves, seq - 1)],
                "checkpoint": note}

    def _check_may_read_whole(self, actor: Actor, project: dict[str, Any], event: dict[str, Any]) -> None:
        """A proof shows an event whole (its hash covers all of it): not one with personal fields the
        actor may not read."""
        template = self.template_of(project)
        if access.may_verify(actor, project) or not template.has_personal_fields():
            return
        full = read.get_project(self.engine, project["id"], with_tasks=True) or project
        (seen,) = access.redacted_events(actor, full, template, iter([event]))
        if access.REDACTED in seen:
            raise Forbidden(f"Event {event['seq']} holds personal data that you may not read; its proof is for "
                            "those who may.")

    def export_bundle(self, actor: Actor, project_id: str, out: IO[bytes]) -> dict[str, int]:
        """A zip of the trail (``events.jsonl``), every document it names (``documents/<sha256>``, with their
        names in ``documents.json``), the kept checkpoints (``checkpoints/<size>.note``), ``project.json`` and, for a
        trail whose first event names its template by digest, ``template.json`` (that template's canonical JSON)."""
        project = self._project(actor, project_id)
        # as the trail's other exports: personal fields left out for those who may not read them (their
        # events then no longer match their hashes), and only the documents of what is left
        events = list(self.list_events(actor, project_id))
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            with bundle.open(BUNDLE_EVENTS, "w") as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
                write_jsonl(events, text)
                text.flush()
                text.detach()  # the zip member closes with its own context
            bundle.writestr(BUNDLE_PROJECT, json.dumps({k: project[k] for k in (
                "id", "title", "template", "lead", "partners", "status")}, ensure_ascii=False, indent=1))
            if events and "template_ref" in events[0]["data"]:  # the text its digest names: the bundle is whole
                bundle.writestr(BUNDLE_TEMPLATE, canonical_json(self.template_of(project).model_dump(mode="json")))
            present = set()
            for sha256 in sorted({doc["sha256"] for _, _, doc in referenced_documents(events)}):
                content = self.documents.open(sha256)
                if content is None:
                    continue  # the verifier names it as missing
                with bundle.open(f"documents/{sha256}", "w") as target:
                    for chunk in content:
                        target.write(chunk)
                present.add(sha256)
            documents = len(present)
            # the files are named by their hash (checked offline by content); their names are beside them
            listed = [e for e in document_manifest(events) if e["sha256"] in present]
            bundle.writestr(BUNDLE_DOCUMENTS, json.dumps(listed, ensure_ascii=False, indent=1))
            kept = checkpoints(self.engine, project_id)
            for row in kept:
                bundle.writestr(f"checkpoints/{row['tree_size']:08d}.note",
                                self.cosigned(project_id, row["tree_size"], row["note"]))
        return {"events": len(events), "documents": documents, "checkpoints": len(kept)}

    def checkpoint_all(self, actor: Actor) -> list[dict[str, Any]]:
        """A checkpoint of every project the actor may verify (auditors and the operator: all)."""
        return [self.checkpoint(actor, p["id"]) for p in self.verifiable_projects(actor)]

