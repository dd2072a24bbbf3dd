-- verify stage: the cached worker results of this verifier version.
SELECT gold, pred, result FROM verify_cache WHERE verifier_version = $version;
