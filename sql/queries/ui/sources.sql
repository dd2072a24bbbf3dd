-- review app: source names and marker kinds for the filter widgets.
SELECT source FROM sources WHERE kind <> 'problems' ORDER BY source;
