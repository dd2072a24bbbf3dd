-- report (signals section): problems per unsuitable reason (per-reason flags, whether or not they count).
SELECT count_if(is_image) AS image, count_if(is_proof) AS proof, count_if(is_multiple_choice) AS multiple_choice,
       count_if(is_multi_part) AS multi_part, count_if(no_reference) AS no_reference,
       count_if(unsuitable) AS unsuitable, count(*) AS problems
FROM problem_signals;
