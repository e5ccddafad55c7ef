from metadata_mgr.models.imports import ImportFile, ImportRejection
from metadata_mgr.models.records import (
    MetadataOutbox,
    MetadataType,
    OutboxOp,
    Record,
    RecordVersion,
    VersionOp,
)
from metadata_mgr.models.registry import (
    DEFAULT_MODE,
    MODE_SETTING,
    CompatibilityMode,
    Subject,
    SubjectVersion,
)
from metadata_mgr.models.search import SearchDocument

__all__ = [
    "DEFAULT_MODE",
    "MODE_SETTING",
    "CompatibilityMode",
    "ImportFile",
    "ImportRejection",
    "MetadataOutbox",
    "MetadataType",
    "OutboxOp",
    "Record",
    "RecordVersion",
    "SearchDocument",
    "Subject",
    "SubjectVersion",
    "VersionOp",
]
