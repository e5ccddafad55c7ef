"""The metadata manager (a feature): tenant-scoped metadata records with versions,
exact rollback and change descriptions, content compressed (zstd) and, for sensitive
records, sealed with the tenant's key; a per-tenant schema registry whose
compatibility checks run in `metadata_mgr.compat` (through `schema_compat`); bulk
import from JSON Lines as a long job. See docs/metadata.md.

Layering: a feature. Imports the services (audit_mgr, jobs_mgr), kms and tenancy; never
another feature. Sealing with the tenant's key is asked of the security feature
through `tenancy.hooks.seal_tenant_value` / `open_tenant_value`.
"""
