"""A small catalogue the search tests (and bench/rows_metadata_search.py) share."""

CATALOGUE = [
    ("customer_orders", "technical", {"table": "orders", "columns": ["customer_id", "total"]}),
    ("user_schema", "schema", {"table": "users", "columns": ["email", "password_hash"]}),
    ("revenue_kpis", "business", {"kpi": "quarterly revenue and profit margin"}),
    ("shipping_events", "technical", {"stream": "parcel delivery tracking updates"}),
    ("employee_directory", "business", {"description": "staff names, departments, managers"}),
]


def make_catalogue(**extra):
    from metadata_mgr.actions import do_create_record

    return {
        name: do_create_record(metadata_type=kind, content=content, name=name, **extra)
        for name, kind, content in CATALOGUE
    }
