"""Search over the tenant's metadata records: keyword (PostgreSQL full text / SQLite
FTS5), semantic (sentence embeddings, an in-process ANN index per tenant), fused into
one ranked list and re-checked against the store. docs/metadata.md, "Search"."""
