"""Tenants, the tenant context and fail-closed tenant-scoped models."""
