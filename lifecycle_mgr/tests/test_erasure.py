"""Erasure (Art. 17): what it destroys, what it leaves (the other tenant, the audit log),
the certificate that verifies after the data is gone, and the legal hold that refuses it."""

from __future__ import annotations

import pytest

import audit_mgr as audit
from lifecycle_mgr.erasure import (
    CERTIFICATE_EVENT,
    erasable_models,
    erase_tenant,
    erase_user,
    verify_certificate,
)
from lifecycle_mgr.gdpr_models import ErasureCertificate
from lifecycle_mgr.holds import LegalHoldActive, do_place_hold, do_release_hold
from security_mgr.models import KeyRing
from tenancy.context import tenant_context
from tenancy.models import AdminLogEntry, Membership
from tests.personas import audit_entries
from tests.scoping_app.models import Document, Folder
from tests.security_app.models import SecretNote

pytestmark = pytest.mark.django_db


def _fill(tenant, user, *, folders=3, documents=4):
    with tenant_context(tenant):
        for f in range(folders):
            folder = Folder.objects.create(name=f"folder {f}")
            Document.objects.bulk_create(
                [Document(folder=folder, title=f"doc {f}.{d}") for d in range(documents)]
            )
        SecretNote.objects.create(owner=str(user.pk), body="secret", private="mine")
        AdminLogEntry.objects.create(user=user, object_repr="x", action_flag=1)


def _counts(tenant) -> dict:
    with tenant_context(tenant):
        return {
            "folders": Folder.objects.count(),
            "documents": Document.objects.count(),
            "notes": SecretNote.objects.count(),
            "history": AdminLogEntry.objects.count(),
        }


def test_erasable_models_put_children_before_parents_and_keep_the_log():
    order = erasable_models()
    assert order.index(Document) < order.index(Folder)
    assert ErasureCertificate not in order
    assert all(m._meta.app_label != "audit_mgr" or m.__name__ == "SecurityEvent" for m in order)


def test_erase_tenant_destroys_its_rows_and_keys_only(
    tenant_alpha, tenant_beta, alpha_owner, beta_owner
):
    _fill(tenant_alpha, alpha_owner)
    _fill(tenant_beta, beta_owner)
    before_beta = _counts(tenant_beta)

    certificate = erase_tenant(tenant_alpha.pk, actor="platform-ops")

    assert _counts(tenant_alpha) == {"folders": 0, "documents": 0, "notes": 0, "history": 0}
    assert _counts(tenant_beta) == before_beta
    rows = certificate.receipt["destroyed"]["rows"]
    assert rows["scoping_app.Document"] == 12
    assert rows["scoping_app.Folder"] == 3
    assert rows["security_app.SecretNote"] == 1
    assert rows["tenancy.Membership"] >= 1
    assert certificate.receipt["keys"]  # the tenant's rings were shredded, by id
    assert not Membership.objects.filter(tenant=tenant_alpha).exists()
    with tenant_context(tenant_alpha):
        assert not KeyRing.objects.exists()  # shredded, then purged
    with tenant_context(tenant_beta):
        assert KeyRing.objects.filter(shredded_at__isnull=True).exists()
        assert SecretNote.objects.get().private == "mine"  # still readable


def test_erase_tenant_certificate_verifies_after_the_data_is_gone(tenant_alpha, alpha_owner):
    _fill(tenant_alpha, alpha_owner)
    certificate = erase_tenant(tenant_alpha.pk, actor="platform-ops")
    with tenant_context(tenant_alpha):
        stored = ErasureCertificate.objects.get()
        outcome = verify_certificate(stored)
        report = audit.verify_log(audit.tenant_log())
    assert outcome["ok"], outcome["problems"]
    assert report.ok, report.problems  # what verify_audit checks
    assert audit.verify_receipt(stored.receipt, stored.signature)
    entries = audit_entries(tenant_alpha, CERTIFICATE_EVENT)
    assert [e.seq for e in entries] == [certificate.entry_seq]
    assert any(
        e.event == CERTIFICATE_EVENT for e in audit_entries(None, CERTIFICATE_EVENT)
    )  # the platform's log names it too


def test_erase_tenant_certificate_with_an_altered_receipt_fails_verification(
    tenant_alpha, alpha_owner
):
    _fill(tenant_alpha, alpha_owner)
    erase_tenant(tenant_alpha.pk)
    with tenant_context(tenant_alpha):
        certificate = ErasureCertificate.objects.get()
        certificate.receipt["destroyed"]["rows"]["scoping_app.Document"] = 1
        outcome = verify_certificate(certificate)
    assert not outcome["ok"]
    assert "the audit entry holds another receipt" in outcome["problems"]


def test_erase_tenant_under_legal_hold_is_refused_and_changes_nothing(tenant_alpha, alpha_owner):
    _fill(tenant_alpha, alpha_owner)
    before = _counts(tenant_alpha)
    hold = do_place_hold(tenant_alpha.pk, reason="litigation", actor="legal")
    with pytest.raises(LegalHoldActive):
        erase_tenant(tenant_alpha.pk)
    assert _counts(tenant_alpha) == before
    with tenant_context(tenant_alpha):
        assert not ErasureCertificate.objects.exists()
        assert not KeyRing.objects.filter(shredded_at__isnull=False).exists()
    do_release_hold(hold, actor="legal")
    erase_tenant(tenant_alpha.pk)
    assert _counts(tenant_alpha)["documents"] == 0


def test_erase_tenant_in_small_batches_removes_everything(tenant_alpha, alpha_owner, settings):
    settings.LIFECYCLE_ERASURE_BATCH = 5
    _fill(tenant_alpha, alpha_owner, folders=4, documents=7)
    certificate = erase_tenant(tenant_alpha.pk)
    assert certificate.receipt["destroyed"]["rows"]["scoping_app.Document"] == 28
    assert _counts(tenant_alpha)["documents"] == 0


def test_erase_user_removes_that_users_rows_keys_and_membership_only(
    tenant_alpha, alpha_owner, alpha_viewer
):
    _fill(tenant_alpha, alpha_owner, folders=1, documents=1)
    _fill(tenant_alpha, alpha_viewer, folders=0)

    certificate = erase_user(tenant_alpha.pk, alpha_viewer.pk, actor="owner")

    rows = certificate.receipt["destroyed"]["rows"]
    assert rows["tenancy.AdminLogEntry"] == 1
    assert rows["tenancy.Membership"] == 1
    assert certificate.receipt["keys"] == [f"owner={alpha_viewer.pk}:v1"]
    assert not Membership.objects.filter(tenant=tenant_alpha, user=alpha_viewer).exists()
    assert Membership.objects.filter(tenant=tenant_alpha, user=alpha_owner).exists()
    with tenant_context(tenant_alpha):
        assert AdminLogEntry.objects.filter(user=alpha_owner).count() == 1
        assert not AdminLogEntry.objects.filter(user=alpha_viewer).exists()
        assert KeyRing.objects.get(subject=f"owner={alpha_viewer.pk}").shredded_at is not None
        assert KeyRing.objects.get(subject=f"owner={alpha_owner.pk}").shredded_at is None
        assert Document.objects.count() == 1  # the tenant's data is not the user's
        assert verify_certificate(ErasureCertificate.objects.get())["ok"]
    assert alpha_viewer.__class__.objects.filter(pk=alpha_viewer.pk).exists()  # the account


def test_erase_user_under_that_users_hold_is_refused(tenant_alpha, alpha_owner, alpha_viewer):
    do_place_hold(tenant_alpha.pk, reason="dispute", actor="legal", user_id=alpha_viewer.pk)
    with pytest.raises(LegalHoldActive):
        erase_user(tenant_alpha.pk, alpha_viewer.pk)
    assert Membership.objects.filter(tenant=tenant_alpha, user=alpha_viewer).exists()
    erase_user(tenant_alpha.pk, alpha_owner.pk)  # another user of the tenant is not held


def test_erase_tenant_bumps_the_tenant_cache_generation(tenant_alpha):
    before = tenant_alpha.cache_generation
    certificate = erase_tenant(tenant_alpha.pk)
    tenant_alpha.refresh_from_db(fields=["cache_generation"])
    assert tenant_alpha.cache_generation == before + 1
    assert certificate.receipt["destroyed"]["cache_generation"] is not None


def test_erase_tenant_keeps_the_models_it_is_told_to_and_says_so(tenant_alpha, alpha_owner):
    _fill(tenant_alpha, alpha_owner)
    certificate = erase_tenant(tenant_alpha.pk, keep=["scoping_app.Folder"])
    assert certificate.receipt["kept"] == ["scoping_app.Folder"]
    assert _counts(tenant_alpha)["folders"] == 3 and _counts(tenant_alpha)["documents"] == 0


def test_erase_tenant_deletes_its_ai_artifact_files_only(
    tenant_alpha, tenant_beta, settings, tmp_path, django_capture_on_commit_callbacks
):
    """Artifacts are signed, not encrypted: shredding keys leaves them readable, so the
    files go (the search encoder's vocabulary is the tenant's own words)."""
    from ai_mgr import training
    from ai_mgr.tests.factories import metric_rows
    from metadata_mgr import search_engine
    from metadata_mgr.actions import do_create_record

    settings.AI_ARTIFACT_STORAGE = "file"
    settings.AI_ARTIFACT_ROOT = str(tmp_path)
    settings.METADATA_SEARCH_ENCODER = "tfidf"
    for tenant in (tenant_alpha, tenant_beta):
        with tenant_context(tenant):
            training.train_now(model_type="anomaly_detector", training_data=metric_rows())
            do_create_record(metadata_type="business", content={"k": "parcel"}, name="p")
            search_engine.catch_up()
    alpha_files = list((tmp_path / str(tenant_alpha.pk)).rglob("*.npz"))
    beta_files = list((tmp_path / str(tenant_beta.pk)).rglob("*.npz"))
    assert len(alpha_files) == len(beta_files) == 2  # the detector and the encoder
    with django_capture_on_commit_callbacks(execute=True):
        certificate = erase_tenant(tenant_alpha.pk)
    assert not any(p.exists() for p in alpha_files)
    assert all(p.exists() for p in beta_files)
    assert certificate.receipt["destroyed"]["files"] == {"ai_mgr.artifact_files": 1}
