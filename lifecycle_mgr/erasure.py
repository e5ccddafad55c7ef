"""Erasure (GDPR Art. 17, issue 16): a tenant's data or one user's, destroyed, ending with
a certificate that stays verifiable after the data is gone.

In order, inside the tenant's context:
1. a legal hold refuses the whole erasure (`LegalHoldActive`), before anything changes;
2. crypto-shredding of the keys (`tenancy.hooks.shred_tenant_keys`, the security
   feature): whatever a backup or a replica still holds of the ciphertexts is unreadable
   from here on;
3. the search index is dropped (`tenancy.hooks.drop_search_index`, the metadata feature),
   and the files kept outside the database (`tenancy.hooks.erase_tenant_files`: the AI
   registry's artifact files), while the rows still say which files are the tenant's;
4. the rows: every `TenantScopedModel` (found through the app registry, so a model a
   later issue adds is erased without new code), children before parents, set-based
   deletes in batches (one statement per batch, never one per row);
5. the cache: the tenant's generation is bumped (every cached entry unreachable at once);
6. the certificate: a receipt listing what was destroyed (rows per model, key ids,
   search documents), signed like the shredding receipts, appended to the tenant's log
   and the platform's, and a tree head signed over it. The audit log itself is kept: it
   is the evidence, and `verify_certificate` (or `verify_audit`) checks it later.

Every step is idempotent, so an erasure that died half-way is finished by running it
again (the retry's certificate counts what the retry destroyed)."""

from __future__ import annotations

import graphlib
import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import router, transaction
from django.db.models import SET_NULL
from django.utils import timezone

import audit_mgr as audit
from audit_mgr.actions import record_platform_event
from audit_mgr.models import AuditEntry
from audit_mgr.security_events import SecurityEvent
from cache_mgr.actions import do_invalidate_tenant
from lifecycle_mgr.gdpr_models import ErasureCertificate
from lifecycle_mgr.holds import ensure_not_held
from tenancy import hooks
from tenancy.context import platform_access, tenant_context
from tenancy.models import Membership
from tenancy.models.scoped import scoped_models
from tenancy.rls import is_append_only

CERTIFICATE_EVENT = "lifecycle.erasure_certificate"


def batch_size() -> int:
    return int(getattr(settings, "LIFECYCLE_ERASURE_BATCH", 50_000))


def _retained(model) -> bool:
    """The audit log (the evidence, append-only) and the certificates outlive the data.
    Security events are personal data (who, from where): they go."""
    if model is ErasureCertificate or is_append_only(model):
        return True
    return model._meta.app_label == "audit_mgr" and model is not SecurityEvent


def erasable_models() -> list:
    """Every scoped model erasure purges, children before parents: with set-based deletes
    in separate statements, a parent row must never go before the rows that point at it."""
    models = [m for m in scoped_models() if not _retained(m)]
    graph = graphlib.TopologicalSorter()
    for model in models:
        graph.add(model)
        for field in model._meta.concrete_fields:
            target = field.related_model if field.is_relation else None
            if target in models and target is not model:
                graph.add(target, model)  # the parent waits for its child
    return list(graph.static_order())


def _self_referencing(model) -> bool:
    return any(f.is_relation and f.related_model is model for f in model._meta.concrete_fields)


def _through_tables(model):
    """Auto-created many-to-many tables of a scoped model: not scoped themselves, so they
    are cleared through the rows they link."""
    for field in model._meta.many_to_many:
        through = field.remote_field.through
        if through._meta.auto_created:
            yield through, field.m2m_field_name()


# The tenant's lifecycle runs (the purge's own run among them) carry the erasure out and
# record it: deleting them would pull the running step's row from under it. They hold no
# personal data (the tenant's id, the actor, states) and stay, like the audit log.
LIFECYCLE_RUNS = "lifecycle."


def _erasable_rows(model):
    from workflow_mgr.models import StepRun, WorkflowRun

    rows = model._base_manager.all()
    if model is WorkflowRun:
        return rows.exclude(name__startswith=LIFECYCLE_RUNS)
    if model is StepRun:
        return rows.exclude(run__name__startswith=LIFECYCLE_RUNS)
    return rows


def _purge_model(model, size: int) -> int:
    using = router.db_for_write(model)
    rows = _erasable_rows(model)
    for through, column in _through_tables(model):
        through._base_manager.filter(**{f"{column}__in": rows.values("pk")})._raw_delete(using)
    if _self_referencing(model):
        # Deferred foreign keys are checked per transaction: one statement, no batches.
        with transaction.atomic(using=using):
            return rows._raw_delete(using)
    removed = 0
    while True:
        # Batches by primary-key range: the edge is read from the (tenant, id) index,
        # then one DELETE takes everything up to it (cheaper than `id IN (… LIMIT n)`).
        edge = rows.order_by("pk").values_list("pk", flat=True)[size - 1 : size].first()
        if edge is None:
            return removed + rows._raw_delete(using)
        removed += rows.filter(pk__lte=edge)._raw_delete(using)


def kept_labels(keep=()) -> set[str]:
    """Models an erasure leaves alone besides the log: `keep` (say, the workflow run that
    calls the erasure from one of its steps, whose own row must outlive the step) and the
    `LIFECYCLE_ERASURE_KEEP` setting (their parents must be kept too: a purged parent
    under a kept row is a foreign-key error). The certificate names them."""
    return set(keep) | set(getattr(settings, "LIFECYCLE_ERASURE_KEEP", ()))


def purge_tenant_rows(size: int | None = None, keep=()) -> dict[str, int]:
    """Delete every erasable row of the tenant in context: {model label: rows}."""
    size = size or batch_size()
    counts = {}
    kept = kept_labels(keep)
    for model in erasable_models():
        if model._meta.label in kept:
            continue
        removed = _purge_model(model, size)
        if removed:
            counts[model._meta.label] = removed
    return counts


def _user_fields(model):
    user_model = get_user_model()
    return [
        f
        for f in model._meta.concrete_fields
        if f.is_relation and f.many_to_one and f.related_model is user_model
    ]


def purge_user_rows(user_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """The rows of the tenant in context that belong to the user: deleted where the user
    is what the row is about (cascading through Django's collector, so the rows that hang
    off them go too), the reference cleared where the row only mentions the user
    (`SET_NULL`). Returns ({label: deleted}, {label: pseudonymised})."""
    deleted: dict[str, int] = {}
    cleared: dict[str, int] = {}
    for model in erasable_models():
        for field in _user_fields(model):
            rows = model._base_manager.filter(**{field.attname: user_id})
            if field.null and field.remote_field.on_delete is SET_NULL:
                count = rows.update(**{field.attname: None})
                if count:
                    cleared[model._meta.label] = cleared.get(model._meta.label, 0) + count
                continue
            with transaction.atomic(using=router.db_for_write(model)):
                _total, per_model = rows.delete()
            for label, count in per_model.items():
                if count:
                    deleted[label] = deleted.get(label, 0) + count
    events = SecurityEvent.objects.filter(user_id_ref=user_id)._raw_delete(
        router.db_for_write(SecurityEvent)
    )
    if events:
        deleted[SecurityEvent._meta.label] = events
    return deleted, cleared


def _optional(hook, *args):
    """A hook's answer, or None when no installed app provides it (recorded as such)."""
    return hook.call(*args) if hook.provided else None


def _erase_files() -> dict[str, int]:
    """The tenant's files outside the database (hooks.erase_tenant_files): {what: n}."""
    counts: dict[str, int] = {}
    for answer in hooks.erase_tenant_files.call():
        for what, n in (answer or {}).items():
            counts[what] = counts.get(what, 0) + int(n)
    return counts


def _key_ids(shredded: dict | None) -> list[str]:
    if not shredded:
        return []
    return [f"{k['subject'] or 'tenant'}:v{k['version']}" for k in shredded.get("keys", [])]


def _certify(tenant_id: int, user_id: int | None, destroyed: dict, actor: str, **extra):
    """Sign the receipt, append it to both logs, sign a tree head over it, keep a copy."""
    receipt = {
        "type": "erasure certificate",
        "tenant": tenant_id,
        "scope": "tenant" if user_id is None else f"user:{user_id}",
        "destroyed": destroyed,
        "at": timezone.now().isoformat(),
        "actor": actor,
        **extra,
    }
    signature = audit.sign_receipt(receipt)
    with transaction.atomic():
        appended = audit.append(
            CERTIFICATE_EVENT, {"receipt": receipt, "signature": signature}, actor=actor
        )
        entry = audit.entry_of(appended)
        certificate = ErasureCertificate.objects.create(
            subject_user_id=user_id, receipt=receipt, signature=signature, entry_seq=entry.seq
        )
    audit.sign_tree_head()
    with platform_access(f"erasure certificate of tenant {tenant_id}", actor=actor):
        record_platform_event(
            CERTIFICATE_EVENT,
            {"tenant": tenant_id, "user": user_id, "entry_seq": entry.seq},
            actor=actor,
        )
    return certificate


def _cache_generation(actor: str) -> int | None:
    return do_invalidate_tenant(actor=actor)


def erase_tenant(tenant_id: int, *, actor: str = "system:erasure", keep=()) -> ErasureCertificate:
    """Erase the whole tenant's data (Art. 17). Refused under any legal hold of the
    tenant (`LegalHoldActive`, nothing changed). The tenant row and its audit log stay:
    the lifecycle's states say what the tenant is; the log proves what was destroyed."""
    ensure_not_held(tenant_id)
    with tenant_context(tenant_id):
        shredded = _optional(hooks.shred_tenant_keys, None, actor)
        search = _optional(hooks.drop_search_index, None)
        files = _erase_files()
        rows = purge_tenant_rows(keep=keep)
        generation = _cache_generation(actor)
        members = Membership.objects.filter(tenant_id=tenant_id).delete()[1]
        rows.update({k: v for k, v in members.items() if v})
        return _certify(
            tenant_id,
            None,
            {
                "rows": rows,
                "search_documents": search,
                "files": files,
                "cache_generation": generation,
            },
            actor,
            kept=sorted(kept_labels(keep)),
            keys=_key_ids(shredded),
            key_receipts=(shredded or {}).get("receipts", []),
        )


def erase_user(
    tenant_id: int, user_id: int, *, actor: str = "system:erasure"
) -> ErasureCertificate:
    """Erase one user's data in one tenant (Art. 17): their keys, the rows about them,
    their membership. The user's account (shared by every tenant they belong to) is not
    this tenant's to delete. Refused when the user or the tenant is under legal hold."""
    ensure_not_held(tenant_id, user_id)
    with tenant_context(tenant_id):
        shredded = _optional(hooks.shred_tenant_keys, user_id, actor)
        search = _optional(hooks.drop_search_index, user_id)
        deleted, cleared = purge_user_rows(user_id)
        generation = _cache_generation(actor)
        members = Membership.objects.filter(tenant_id=tenant_id, user_id=user_id).delete()[1]
        deleted.update({k: v for k, v in members.items() if v})
        return _certify(
            tenant_id,
            user_id,
            {
                "rows": deleted,
                "pseudonymised": cleared,
                "search_documents": search,
                "cache_generation": generation,
            },
            actor,
            keys=_key_ids(shredded),
            key_receipts=(shredded or {}).get("receipts", []),
        )


def verify_certificate(certificate: ErasureCertificate, *, sequence_first: bool = True) -> dict:
    """Check a certificate against the tenant's log, in the tenant's context: its entry is
    in the log with this receipt, the receipt's signature holds, the log verifies (as
    `verify_audit` does) and the entry is included in the current tree. The API's GET
    passes `sequence_first=False`: it checks what is sequenced and writes nothing."""
    problems = []
    log = audit.tenant_log(certificate.tenant_id)
    entry = AuditEntry.objects.filter(seq=certificate.entry_seq).first()
    payload = json.loads(entry.data)["payload"] if entry is not None else {}
    if entry is None or entry.event != CERTIFICATE_EVENT:
        problems.append("the certificate's audit entry is missing")
    elif payload.get("receipt") != certificate.receipt:
        problems.append("the audit entry holds another receipt")
    if not audit.verify_receipt(payload.get("receipt", certificate.receipt), certificate.signature):
        problems.append("the receipt's signature does not verify")
    report = audit.verify_log(log, sequence_first=sequence_first)
    problems += [str(p) for p in report.problems]
    proof = None
    if entry is not None:
        proof = audit.prove_inclusion(log, entry.seq, sequence_first=sequence_first)
        leaf, path = bytes.fromhex(proof["leaf_hash"]), [bytes.fromhex(h) for h in proof["proof"]]
        if bytes(entry.leaf_hash) != leaf or not audit.verify_inclusion(
            leaf, entry.seq, proof["tree_size"], path, bytes.fromhex(proof["root_hash"])
        ):
            problems.append("the entry is not included in the log's tree")
    return {"ok": not problems, "problems": problems, "proof": proof, "log_ok": report.ok}
