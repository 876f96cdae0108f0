"""The SQLite store: every SQL statement of cxc's data lives in this room.

- :mod:`~cxc.store.schema`: the tables and views, the schema version and migrations;
- :mod:`~cxc.store.connection`: opening a store (and refusing what is not one),
  transactions and read snapshots;
- :mod:`~cxc.store.paths`: how the store names the files it loads;
- :mod:`~cxc.store.load`: loading documents, mirroring folders;
- :mod:`~cxc.store.read`: reading programmes back, the plan and its provenance;
- :mod:`~cxc.store.erasure`: forgetting a person;
- :mod:`~cxc.store.kept`: results kept until what they were made from is written;
- :mod:`~cxc.store.disk`: whether the files loaded are still what the store holds.
"""

from cxc.format.files import file_key, file_location, store_root
from cxc.store.connection import (
    BUSY_TIMEOUT_S,
    db_path,
    open_store,
    read_snapshot,
    store_name,
    write_transaction,
)
from cxc.store.disk import (
    FileOnDisk,
    FilesChanged,
    changed_on_disk,
    loaded_files_note,
    require_as_loaded,
)
from cxc.store.erasure import FORGOTTEN_NAME, ForgetSummary, PersonFile, forget, pseudonym
from cxc.store.load import LoadSummary, load, load_into
from cxc.store.read import (
    PlanState,
    plan_states,
    programme_files,
    read_admitted,
    read_partners,
    read_partnership,
    read_placements,
    read_programmes,
    read_seating,
    save_admissions,
    save_plan,
)
from cxc.store.schema import (
    APPLICATION_ID,
    SCHEMA,
    SCHEMA_VERSION,
    data_hash,
    person_token,
    store_secret,
)

__all__ = [
    "APPLICATION_ID", "BUSY_TIMEOUT_S", "FORGOTTEN_NAME", "SCHEMA", "SCHEMA_VERSION",
    "FileOnDisk", "FilesChanged", "ForgetSummary", "require_as_loaded", "LoadSummary", "changed_on_disk", "loaded_files_note", "PersonFile", "PlanState", "data_hash", "db_path",
    "file_key", "file_location", "forget", "load", "load_into", "open_store", "person_token",
    "plan_states", "programme_files", "pseudonym", "read_admitted", "read_partners", "read_partnership",
    "read_placements", "read_programmes", "read_seating", "read_snapshot", "save_admissions", "save_plan", "store_root",
    "store_name", "store_secret", "write_transaction",
]
