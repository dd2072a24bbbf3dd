INSERT INTO sources (source, kind, license, description)
VALUES ($source, $kind, $license, $description)
ON CONFLICT (source) DO UPDATE SET
    kind = CASE WHEN sources.kind = 'traces' OR excluded.kind = 'traces' THEN 'traces' ELSE excluded.kind END,
    license = coalesce(excluded.license, sources.license),
    description = coalesce(excluded.description, sources.description);
