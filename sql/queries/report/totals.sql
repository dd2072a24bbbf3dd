-- distillate report: catalog totals.
SELECT
    (SELECT count(*) FROM problems)   AS problems,
    (SELECT count(*) FROM traces)     AS traces,
    (SELECT count(*) FROM quarantine) AS quarantined;
