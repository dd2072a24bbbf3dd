SELECT source, kind FROM sources ORDER BY source;
