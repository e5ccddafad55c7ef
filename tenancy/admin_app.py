"""`django.contrib.admin` with the console's site (tenancy/console_site.py) as
`admin.site`. A module of its own: Django imports it while loading apps, before models
exist, and the site module needs models."""

from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    default_site = "tenancy.console_site.ConsoleAdminSite"
