"""The signed, append-only event log. No hospital words live here.

Layers, one module each: ``canonical`` (bytes that hash the same everywhere),
``hlc`` (hybrid logical clock), ``keys`` (Ed25519), ``events`` (the event
record), ``store`` with ``sqlite``/``postgres`` (where events are kept),
``ingest`` (the one path every event takes into a store), ``projection``
(read models derived from events), ``writer`` (this node's appends),
``verify`` (re-check every byte), ``numbering`` and ``sequences`` (numbers minted
without a server).
"""
