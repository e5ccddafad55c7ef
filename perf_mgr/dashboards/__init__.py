"""The performance manager's three console dashboards (issue 14, item 5), drawn with
Plotly through `tenancy.console_charts`: Performance (latency percentiles, throughput,
errors, alert firings), Business (users, sessions, records, API use) and Operations
(health, queues, workers, firing alerts, deployments of keys and models).

- `scope`: who may open which dashboard and which tenants it covers;
- `data`: what each draws, as plain data (tested on its own, read only);
- `charts`: the Plotly figures and their empty states;
- `views`: the pages (GET only, nothing written)."""
