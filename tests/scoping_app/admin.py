from django.contrib import admin

from tenancy.admin_base import TenantScopedAdmin
from tests.scoping_app.models import Document, Folder


@admin.register(Folder)
class FolderAdmin(TenantScopedAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(Document)
class DocumentAdmin(TenantScopedAdmin):
    list_display = ["title", "folder", "size"]
    search_fields = ["title"]
    autocomplete_fields = ["folder"]
