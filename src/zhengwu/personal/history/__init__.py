"""Reading and validating a citizen's service history, exported from a government system by staff.

``zhengwu history import FILE.csv|.jsonl`` calls ``read_history``. Exports come from many systems: headers may
be English or Chinese, CSV files from Excel on government PCs are often GB18030, dates are written four ways
and statuses in Chinese. ``rows`` holds the record (``HistoryRow``) and its validators, ``files`` the reading
of a file into rows and ``RowError``s.

The records are personal information (PIPL): ID numbers never appear in error messages or ``repr``, and every
reason passes through ``pii.mask_pii``. Storing them (encrypted, with a blind index) is the store's job.

``MAX_FILE_BYTES`` here is the size limit ``read_history`` applies (looked up here each time a file is read).
"""

from zhengwu.answering.vocabulary import CHANNELS
from zhengwu.personal.history.files import (
    CHINESE_NAMES,
    FIELD_ALIASES,
    MAX_FILE_BYTES,
    SUPPORTED_SUFFIXES,
    HistoryImport,
    RowError,
    read_history,
)
from zhengwu.personal.history.rows import HistoryRow, parse_date
from zhengwu.personal.records import DECIDED_STATUSES
from zhengwu.personal.records import RECORD_STATUSES as STATUSES

__all__ = [
    "CHANNELS",
    "CHINESE_NAMES",
    "DECIDED_STATUSES",
    "FIELD_ALIASES",
    "MAX_FILE_BYTES",
    "STATUSES",
    "SUPPORTED_SUFFIXES",
    "HistoryImport",
    "HistoryRow",
    "RowError",
    "parse_date",
    "read_history",
]
