"""The metadata manager's writes (each owns its transaction): records (`records`),
the schema registry (`subjects`), bulk imports (`imports`, `bulk`)."""

from metadata_mgr.actions.imports import do_start_import
from metadata_mgr.actions.records import (
    UNSET,
    do_create_record,
    do_delete_record,
    do_restore_record,
    do_rollback_record,
    do_update_record,
)
from metadata_mgr.actions.subjects import (
    check_compatibility,
    do_create_subject,
    do_evolve_subject,
    do_register_schema,
    do_set_subject_config,
    do_set_tenant_mode,
    effective_mode,
    tenant_mode,
)

__all__ = [
    "UNSET",
    "check_compatibility",
    "do_create_record",
    "do_create_subject",
    "do_delete_record",
    "do_evolve_subject",
    "do_register_schema",
    "do_restore_record",
    "do_rollback_record",
    "do_set_subject_config",
    "do_set_tenant_mode",
    "do_start_import",
    "do_update_record",
    "effective_mode",
    "tenant_mode",
]
