from workflow_mgr.tests import flows  # noqa: F401  (the test workflows)
