"""The console's Lifecycle and Compliance pages, included under /console/lifecycle/."""

from django.urls import path

from lifecycle_mgr import console

urlpatterns = [
    path("", console.lifecycle_page, name="console-lifecycle"),
    path("compliance/", console.compliance_page, name="console-compliance"),
    path("<slug:slug>/transition/", console.transition, name="console-lifecycle-transition"),
]
