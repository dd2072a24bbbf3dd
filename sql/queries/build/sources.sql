-- Sources with their licence as recorded at ingest (for the data card).
SELECT source, kind, license, description FROM sources ORDER BY source;
