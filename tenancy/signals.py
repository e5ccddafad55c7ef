"""Signals the foundation sends for the managers built on it (the foundation never
imports them)."""

from django.dispatch import Signal

# An API detail route answered 404 for `lookup` on a tenant-scoped `sender` model, inside
# the requesting tenant's context. Kwargs: request, lookup. Receivers must not change the
# response, nor take a different time for ids that exist elsewhere (that would leak them).
scoped_object_not_found = Signal()
