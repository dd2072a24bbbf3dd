INSERT INTO source_files (source, file, format, rows_read, records_new, records_present, quarantined, job_id)
VALUES ($source, $file, $format, $rows_read, $records_new, $records_present, $quarantined, $job_id);
