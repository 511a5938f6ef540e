"""The DuckDB job a user would write by hand to do what `gatelog analyze` does, for benches/e2e.sh.

Usage: python e2e_duckdb.py OUT_DIR --access FILE... --authorizer FILE...
       python e2e_duckdb.py --check OUT_DIR   (counts what a run wrote)

- reads the stage access logs (NDJSON, two layouts: AWS's enhanced format and the
  troubleshooting-guide format, unioned by name) with read_json_auto;
- reads the Lambda authorizer logs as raw lines with read_csv (one VARCHAR column) and
  assembles one row per invocation (START / REPORT / decision / error lines) with regexes;
- joins each request to its invocation by $context.authorizer.requestId;
- classifies every 401/403/429/500 with one CASE over the same fields gatelog's decision
  table reads (status, error-responseType, error-message, authorizer-status, whether the
  authorizer was invoked and what it decided);
- writes requests/ and authorizer_invocations/ as Hive-partitioned Parquet (dt=YYYY-MM-DD,
  zstd), like gatelog's dataset.

DuckDB settings are left at their defaults (all cores, 80 % of RAM), as a user would.
gzip inputs (`*.gz`) are read directly; both readers pick the codec from the file name.
"""

import argparse
import os
import sys
import time

import duckdb


def sql_list(paths):
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2].replace("'", "''"))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--access", nargs="+", required=True)
    ap.add_argument("--authorizer", nargs="+", required=True)
    a = ap.parse_args()

    t0 = time.time()
    os.makedirs(a.out, exist_ok=True)
    con = duckdb.connect()
    out = a.out.replace("'", "''")

    # Authorizer invocations: one row per Lambda request id.
    con.execute(
        f"""
        CREATE TEMP TABLE inv AS
        WITH l AS (
            SELECT line,
                   coalesce(
                     nullif(regexp_extract(line, '^(?:START|END|REPORT) RequestId: ([0-9a-f-]{{36}})', 1), ''),
                     nullif(regexp_extract(line, '^\\d{{4}}-\\d\\d-\\d\\dT[^\\t]*\\t([0-9a-f-]{{36}})\\t', 1), '')
                   ) AS rid,
                   regexp_extract(line, '^(\\d{{4}}-\\d\\d-\\d\\dT[0-9:.]+Z)\\t', 1) AS ts
            FROM read_csv({sql_list(a.authorizer)}, columns = {{'line': 'VARCHAR'}},
                          header = false, delim = '\\x01', quote = '', escape = '',
                          auto_detect = false, max_line_size = 8388608)
        )
        SELECT rid AS lambda_request_id,
               min(TRY_CAST(nullif(ts, '') AS TIMESTAMP)) AS start_time,
               max(TRY_CAST(nullif(regexp_extract(line, '^REPORT .*\\tDuration: ([0-9.]+) ms', 1), '') AS DOUBLE)) AS duration_ms,
               max(TRY_CAST(nullif(regexp_extract(line, 'Init Duration: ([0-9.]+) ms', 1), '') AS DOUBLE)) AS init_duration_ms,
               CASE
                 WHEN bool_or(line LIKE '%Task timed out%') THEN 'timeout'
                 WHEN bool_or(regexp_matches(line, '\\tERROR\\t') AND line NOT LIKE '%Unauthorized%') THEN 'error'
                 WHEN bool_or(line LIKE '%Unauthorized%') THEN 'unauthorized'
                 WHEN bool_or(line LIKE '%"effect":"Deny"%' OR line LIKE '%decision=Deny%') THEN 'deny'
                 WHEN bool_or(line LIKE '%"effect":"Allow"%' OR line LIKE '%decision=Allow%') THEN 'allow'
               END AS decision,
               max(nullif(regexp_extract(line, '"principalId":"([^"]*)"', 1), '')) AS principal_id,
               max(nullif(regexp_extract(line, '"errorType":"([^"]*)"', 1), '')) AS error_type,
               max(nullif(regexp_extract(line, '"errorMessage":"([^"]*)"', 1), '')) AS error_message
        FROM l
        WHERE rid IS NOT NULL
        GROUP BY rid
        """
    )

    # Requests: access records joined to invocations and classified.
    con.execute(
        f"""
        CREATE TEMP VIEW requests AS
        WITH acc AS (
            SELECT *,
                   TRY_CAST(status AS INTEGER) AS status_i,
                   coalesce(TRY_CAST(nullif(requestTimeEpoch, '-') AS BIGINT),
                            epoch_ms(try_strptime(requestTime, '%d/%b/%Y:%H:%M:%S %z'))) AS t_ms
            FROM read_json_auto({sql_list(a.access)}, format = 'newline_delimited',
                                union_by_name = true, maximum_object_size = 16777216)
        ),
        j AS (
            SELECT acc.*, inv.lambda_request_id, inv.decision AS authorizer_decision,
                   inv.duration_ms AS authorizer_duration_ms,
                   inv.init_duration_ms IS NOT NULL AS authorizer_cold_start,
                   inv.error_type AS authorizer_invocation_error
            FROM acc LEFT JOIN inv ON inv.lambda_request_id = acc."authorizer-requestId"
        )
        SELECT j.*,
               make_timestamp(t_ms * 1000) AS request_time,
               CAST(make_timestamp(t_ms * 1000) AS DATE) AS dt,
               CASE
                 WHEN status_i NOT IN (401, 403, 429, 500) THEN NULL
                 WHEN "error-responseType" = 'WAF_FILTERED' THEN 'waf_block'
                 WHEN "error-responseType" = 'ACCESS_DENIED' AND "error-message" LIKE '%is not authorized to perform%'
                      AND "error-message" LIKE '%explicit deny%' AND lambda_request_id IS NULL
                      THEN 'resource_policy_explicit_deny'
                 WHEN "error-responseType" = 'ACCESS_DENIED' AND "error-message" LIKE '%with an explicit deny%'
                      AND authorizer_decision = 'deny' THEN 'authorizer_explicit_deny'
                 WHEN "error-responseType" = 'ACCESS_DENIED' AND "error-message" LIKE '%with an explicit deny%'
                      AND lambda_request_id IS NULL AND "authorizer-status" = '200' THEN 'authorizer_cached_deny'
                 WHEN "error-responseType" = 'ACCESS_DENIED' AND "error-message" LIKE '%not authorized to access this resource%'
                      AND authorizer_decision = 'allow' THEN 'authorizer_policy_mismatch'
                 WHEN "error-responseType" = 'ACCESS_DENIED' AND "error-message" LIKE '%is not authorized to perform%'
                      AND lambda_request_id IS NULL THEN 'iam_policy_deny'
                 WHEN "error-responseType" = 'ACCESS_DENIED' AND "error-message" LIKE '%is not authorized to perform%'
                      THEN 'resource_policy_implicit_deny'
                 WHEN "error-responseType" = 'MISSING_AUTHENTICATION_TOKEN' AND coalesce("resourcePath", '-') = '-'
                      THEN 'missing_authentication_token'
                 WHEN "error-responseType" = 'MISSING_AUTHENTICATION_TOKEN' THEN 'iam_unsigned'
                 WHEN "error-responseType" = 'INVALID_SIGNATURE' THEN 'iam_signature_invalid'
                 WHEN "error-responseType" = 'EXPIRED_TOKEN' THEN 'iam_token_expired'
                 WHEN "error-responseType" = 'UNRECOGNIZED_CLIENT' THEN 'iam_token_invalid'
                 WHEN "error-responseType" = 'UNAUTHORIZED' AND authorizer_decision = 'unauthorized'
                      THEN 'authorizer_unauthorized'
                 WHEN "error-responseType" = 'UNAUTHORIZED' AND lambda_request_id IS NULL
                      THEN 'authorizer_identity_missing'
                 WHEN "error-responseType" IN ('AUTHORIZER_CONFIGURATION_ERROR', 'AUTHORIZER_FAILURE')
                      AND authorizer_decision = 'timeout' THEN 'authorizer_timeout'
                 WHEN "error-responseType" IN ('AUTHORIZER_CONFIGURATION_ERROR', 'AUTHORIZER_FAILURE')
                      THEN 'authorizer_configuration_error'
                 WHEN "error-responseType" = 'INVALID_API_KEY' THEN 'api_key_invalid'
                 WHEN "error-responseType" = 'THROTTLED' THEN 'throttled'
                 WHEN "error-responseType" = 'QUOTA_EXCEEDED' THEN 'quota_exceeded'
                 WHEN "error-responseType" IS NULL OR "error-responseType" = '-' THEN
                      CASE WHEN "integration-status" IN ('401', '403', '429') THEN 'backend_denied' END
               END AS denial_class
        FROM j
        """
    )

    con.execute(
        f"""
        COPY (SELECT * FROM requests)
        TO '{out}/requests' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (dt), OVERWRITE_OR_IGNORE)
        """
    )
    con.execute(
        f"""
        COPY (SELECT *, CAST(start_time AS DATE) AS dt FROM inv)
        TO '{out}/authorizer_invocations' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (dt), OVERWRITE_OR_IGNORE)
        """
    )
    print(f"duckdb {duckdb.__version__}: {time.time() - t0:.1f} s", file=sys.stderr)


def check(out):
    """Counts what a run wrote (run by e2e.sh outside the timed region)."""
    n, denied = duckdb.execute(
        f"SELECT count(*), count(denial_class) FROM read_parquet('{out}/requests/*/*.parquet')"
    ).fetchone()
    inv = duckdb.execute(
        f"SELECT count(*) FROM read_parquet('{out}/authorizer_invocations/*/*.parquet')"
    ).fetchone()[0]
    print(f"{n} requests, {denied} classified denials, {inv} invocations")

if __name__ == "__main__":
    main()
