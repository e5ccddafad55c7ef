"""A small labelled set for the search-quality row (bench/rows_metadata_search.py):
30 metadata records of a retail company's catalogue and 20 queries, each with the
records a data engineer would want back. A third of the queries share words with
their answers (keyword search's ground), a third are paraphrases sharing none
(semantic search's), a third mix both. Built by hand for this bench; small, so read
the figures as a sanity check of the fusion, not as a benchmark of the model."""

RECORDS = [
    (
        "customers",
        "schema",
        {"table": "customers", "columns": ["customer_id", "email", "full_name", "signup_date"]},
    ),
    (
        "orders",
        "schema",
        {"table": "orders", "columns": ["order_id", "customer_id", "order_total", "placed_at"]},
    ),
    (
        "order_items",
        "schema",
        {"table": "order_items", "columns": ["order_id", "sku", "quantity", "unit_price"]},
    ),
    (
        "payments",
        "schema",
        {
            "table": "payments",
            "columns": ["payment_id", "order_id", "card_brand", "amount", "status"],
        },
    ),
    (
        "refunds",
        "technical",
        {"table": "refunds", "description": "money returned to buyers after a return"},
    ),
    (
        "shipments",
        "technical",
        {
            "table": "shipments",
            "columns": ["tracking_number", "carrier", "shipped_at", "delivered_at"],
        },
    ),
    ("warehouses", "business", {"description": "distribution centres and their storage capacity"}),
    (
        "inventory_levels",
        "technical",
        {"table": "inventory", "columns": ["sku", "warehouse_id", "units_on_hand"]},
    ),
    (
        "suppliers",
        "business",
        {"description": "vendors we buy goods from, contracts and lead times"},
    ),
    (
        "purchase_orders",
        "technical",
        {"table": "purchase_orders", "description": "restocking orders sent to vendors"},
    ),
    (
        "product_catalog",
        "schema",
        {"table": "products", "columns": ["sku", "title", "category", "list_price"]},
    ),
    (
        "price_history",
        "technical",
        {"table": "price_changes", "description": "every change of a product's price over time"},
    ),
    (
        "promotions",
        "business",
        {"description": "discount campaigns, coupon codes and their redemption"},
    ),
    (
        "marketing_emails",
        "business",
        {"description": "newsletter sends, open rates and click-through"},
    ),
    ("web_sessions", "technical", {"stream": "clickstream of website visits and page views"}),
    ("search_logs", "technical", {"stream": "what shoppers typed in the site search box"}),
    (
        "product_reviews",
        "business",
        {"description": "star ratings and written feedback from buyers"},
    ),
    (
        "support_tickets",
        "business",
        {"description": "customer service cases, complaints and resolution time"},
    ),
    (
        "employees",
        "schema",
        {
            "table": "employees",
            "columns": ["employee_id", "department", "hire_date", "salary_band"],
        },
    ),
    (
        "payroll_runs",
        "technical",
        {"table": "payroll", "description": "monthly salary payments to staff"},
    ),
    ("store_locations", "business", {"description": "physical shops, addresses and opening hours"}),
    ("daily_sales", "business", {"kpi": "revenue per day and per store"}),
    ("churn_model", "technical", {"model": "predicts which subscribers will cancel"}),
    ("fraud_alerts", "technical", {"stream": "suspicious card transactions flagged for review"}),
    (
        "exchange_rates",
        "technical",
        {"table": "fx_rates", "description": "currency conversion rates per day"},
    ),
    ("tax_rates", "business", {"description": "VAT and sales tax per country and region"}),
    ("gdpr_requests", "business", {"description": "data subject access and erasure requests"}),
    (
        "loyalty_points",
        "technical",
        {"table": "loyalty", "description": "reward points earned and redeemed by members"},
    ),
    (
        "gift_cards",
        "technical",
        {"table": "gift_cards", "columns": ["card_code", "balance", "expires_at"]},
    ),
    ("energy_usage", "business", {"kpi": "electricity consumption of warehouses"}),
]

# (query, relevant record names)
QUERIES = [
    # words shared with the answer
    ("payments card status", {"payments"}),
    ("tracking number carrier", {"shipments"}),
    ("coupon codes", {"promotions"}),
    ("salary", {"payroll_runs", "employees"}),
    ("exchange rates currency", {"exchange_rates"}),
    ("gift card balance", {"gift_cards"}),
    ("sku quantity unit price", {"order_items"}),
    # paraphrases sharing no word with the answer
    ("who stops subscribing", {"churn_model"}),
    ("stock on hand in each depot", {"inventory_levels", "warehouses"}),
    ("buyer opinions and ratings", {"product_reviews"}),
    ("personal data deletion", {"gdpr_requests"}),
    ("wages paid to workers", {"payroll_runs"}),
    ("parcels delivered to homes", {"shipments"}),
    # a mix
    ("customer complaints", {"support_tickets"}),
    ("stolen credit card purchases", {"fraud_alerts"}),
    ("money back after return", {"refunds"}),
    ("newsletter performance", {"marketing_emails"}),
    ("what visitors search for on the website", {"search_logs", "web_sessions"}),
    ("revenue by shop", {"daily_sales"}),
    ("vendor lead times and restocking", {"suppliers", "purchase_orders"}),
]
