-- lineage: every source with its kind and licence (as recorded at ingest).
SELECT source, kind, license FROM sources ORDER BY source;
