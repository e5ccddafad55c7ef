"""JSON Lines files for bulk import: the job kind's name and how a file splits."""

IMPORT = "metadata.import"  # the jobs_mgr kind (registered by metadata_mgr/imports.py)


def split_lines(data: bytes) -> list[bytes]:
    """The file's lines (numbered from 1 by their position), without line endings; the
    newline that ends the last line does not start another."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line.rstrip(b"\r") for line in lines]
