"""Several statements in one round trip, on any backend.

On PostgreSQL the statements are sent in pipeline mode (values still bound on the
server, each statement its own snapshot, so a read after a lock sees what committed
before it); elsewhere they run one after the other. Each result is (rows, rowcount).
Multi-statement strings (`"A; B"`) would need client-side binding, which would put
values into the statement texts that pg_stat_activity shows.
"""

from __future__ import annotations


def run_statements(connection, statements: list[tuple[str, list | dict | None]]) -> list[tuple]:
    if connection.vendor != "postgresql" or len(statements) == 1:
        results = []
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params or None)
                results.append((_rows(cursor), cursor.rowcount))
        return results
    connection.ensure_connection()
    cursors = [connection.cursor() for _ in statements]
    try:
        with connection.wrap_database_errors, connection.connection.pipeline():
            for cursor, (sql, params) in zip(cursors, statements, strict=True):
                cursor.execute(sql, params or None)
        return [(_rows(cursor), cursor.rowcount) for cursor in cursors]
    finally:
        for cursor in cursors:
            cursor.close()


def _rows(cursor) -> list:
    return cursor.fetchall() if cursor.description else []
