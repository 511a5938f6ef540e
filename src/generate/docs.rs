//! The `README.md` written next to the mixed sample-data layout: the scenario, the file
//! layout and the expected counts, all rendered from the run's own truth so that
//! regenerating reproduces it byte for byte.

use std::fmt::Write;

use super::sim::CLASSES;
use super::sink::{DELIVERY_STREAM, EXPORT_PREFIX};
use super::world::{World, ACCOUNT, BACKEND_FN, REGION, REQ_FN, TOK_FN};
use super::Truth;

/// Taxonomy classes REST can produce that this scenario does not generate (listed with 0).
const NOT_GENERATED: [(&str, &str); 8] = [
    ("resource_policy", "resource_policy_implicit_deny"),
    ("authentication", "iam_unsigned"),
    ("authentication", "iam_token_invalid"),
    ("authentication", "cognito_unauthorized"),
    ("authentication", "jwt_unauthorized"),
    ("authorizer", "authorizer_timeout"),
    ("authorizer", "jwt_insufficient_scope"),
    ("authorizer", "authorizer_failure"),
];

/// Phases in the order API Gateway applies them.
const PHASES: [&str; 9] = [
    "waf",
    "resource_policy",
    "routing",
    "authentication",
    "authorizer",
    "authorization",
    "api_key",
    "throttling",
    "integration",
];

pub(crate) fn readme(t: &Truth, w: &World) -> String {
    let mut s = String::with_capacity(16 * 1024);
    let api = &w.api_id;
    let prod = &t.per_stage["prod"];
    let beta = &t.per_stage["beta"];
    let _ = writeln!(
        s,
        "# gatelog sample data: generated `payments` REST API `{api}` (stages `prod` and `beta`)\n"
    );
    let _ = writeln!(
        s,
        "Produced by `gatelog generate` ({} requests, seed {}, the mixed sample-data layout). \
Do not edit: regenerating with the same seed and request count reproduces every file here byte \
for byte, including this README and the hidden `.expected.json`, which holds the ground truth \
as JSON (counts per class, phase, stage and status, invocations, cache hits, dirty lines and \
the file list). Everything is synthetic: addresses come from the documentation ranges, tokens \
and keys are random.\n",
        t.requests, t.seed
    );
    let _ = writeln!(s, "## Scenario\n");
    let _ = writeln!(
        s,
        "From {} to {} (UTC), the REST API `{api}` (account `{ACCOUNT}`, `{REGION}`) served {} requests: \
{} on stage `prod`, which logs the **enhanced** access format (`samples/formats.txt`, \
`access/enhanced.jsonl`), and {} on stage `beta`, which logs the **troubleshooting-guide** format \
(`access/troubleshooting.jsonl`: its `authenticate-status` holds `$context.authorizer.integrationStatus` \
and its `authorize-status` holds `$context.authorizer.status`). {} were refused by the gateway and {} \
denied in all (the backend's own 403s are passed on, not refused).\n",
        t.first_request, t.last_request, t.requests, prod.requests, beta.requests, t.refused, t.denied
    );
    let _ = writeln!(s, "Routes and who calls them:\n");
    let _ = writeln!(
        s,
        "* `GET /health`: open, MOCK integration; two monitors (`192.0.2.10`, `192.0.2.11`)."
    );
    let _ = writeln!(
        s,
        "* `GET /payments/{{paymentId}}`, `POST /payments`: Lambda REQUEST authorizer `{}` (function \
`{REQ_FN}`, identity source header `Authorization`, TTL 300 s, policy `…/<stage>/*`). It logs the \
event it receives (with `requestContext.requestId`) and then `decision {{…}}`. {} merchants call \
it; {} of them are suspended and get an explicit Deny, which is then cached. A beta checkout build \
(`northwind-checkout/4.3.0-beta.1`) sends `Authorization: Bearer` with no token and crashes the \
function (TypeError → 500). A WooCommerce plugin sends no `Authorization` at all (401, not \
invoked). The function redacts the header as `Bearer [redacted]`, except in {} event line(s) that \
carry a realistic fake JWT, to test redaction.",
        w.authorizer_ids[0],
        w.merchants.len(),
        w.merchants.iter().filter(|m| m.suspended).count(),
        t.unredacted_tokens
    );
    let _ = writeln!(
        s,
        "* `GET /payouts`, `POST /payments/{{paymentId}}/refunds`: Lambda TOKEN authorizer `{}` \
(function `{TOK_FN}`, TTL 300 s). It logs only `authorizer decision=… principalId=… resource=… \
methodArn=…` and returns an Allow for the one method ARN it was called with, so a dashboard user \
whose policy is cached for one call gets 403 `User is not authorized to access this resource` on \
the next, different one (`authorizer_policy_mismatch`). Expired JWTs make it throw `Unauthorized`. \
Refunds older than 120 days are refused by the backend (403, `backend_denied`).",
        w.authorizer_ids[1]
    );
    let _ = writeln!(
        s,
        "* `GET /settlements`, `GET /settlements/{{settlementId}}`: AWS_IAM. The settlement batch \
(role `settlement-reporter`, hourly sessions) and finance analysts are allowed; support engineers \
(role `support-console`) have no `execute-api:Invoke` permission; a developer signs with the wrong \
secret; a batch worker keeps an expired session."
    );
    let plan = |i: usize| &w.plans[i].id;
    let _ = writeln!(
        s,
        "* `POST /partner/charges`: API key with usage plans: {} (plan `{}`, key id `{}`, rate 1 rps, \
burst 2, throttled in bursts), {} (plan `{}`, key id `{}`, quota 100/DAY, used up), {} and {} \
(plan `{}`). Some callers send no `x-api-key` or an unknown key.",
        w.partners[0].name,
        plan(0),
        w.partners[0].key_id,
        w.partners[1].name,
        plan(1),
        w.partners[1].key_id,
        w.partners[2].name,
        w.partners[3].name,
        plan(2)
    );
    let _ = writeln!(
        s,
        "* The resource policy denies `198.51.100.0/24` explicitly (evaluated before any \
authorizer); a WAF web ACL with the SQLi rule set blocks `sqlmap`; scanners and misspelt clients \
hit paths that do not exist (`Missing Authentication Token`). Every non-MOCK route integrates \
with the Lambda function `{BACKEND_FN}`.\n"
    );
    let _ = writeln!(
        s,
        "Authorizer caching is modelled per stage and identity: within 300 s of an invocation the \
cached policy decides, with no Lambda invocation and no Lambda lines, `authorizer-requestId -`, \
`authorizer-integrationStatus -`, authorizer latency 1–3 ms. The first invocation of each function \
and about 2% of the others are cold starts (INIT_START, `Init Duration`, billed duration including \
init); each cold start opens a new Lambda log stream. Everything else follows the \"Modelled \
values\" of `samples/README.md` (statuses, `-` for absent values, default gateway-response \
bodies and lengths, masked account `********{}` in ARNs inside messages, execution-log sequences \
per class, access-log event time = request end + 1–4 ms). An unknown API key is logged as \
`Invalid API Key identifier specified`; a missing one as `API Key  not authorized because …`.\n",
        &ACCOUNT[8..]
    );

    let _ = writeln!(s, "## Layout\n");
    let _ = writeln!(
        s,
        "Log groups: access `/aws/apigateway/{api}/prod` and `/aws/apigateway/{api}/beta`, execution \
`API-Gateway-Execution-Logs_{api}/prod` and `…/beta`, Lambda `/aws/lambda/{REQ_FN}` and \
`/aws/lambda/{TOK_FN}`. Each gateway log group has two streams (two gateway hosts; a request's \
access and execution lines go to the same host). Lambda streams are named \
`YYYY/MM/DD/[$LATEST]<32 hex>`; quote these paths in a shell.\n"
    );
    let _ = writeln!(
        s,
        "* `{EXPORT_PREFIX}/`: CreateExportTask output (`s3-export`), one task per log group: prod \
access log, prod execution log, REQUEST-authorizer log. Keys `<taskId>/<stream>/000000.gz`; \
lines `ISO-timestamp SPACE message`, Lambda messages without their trailing newline (REPORT keeps \
its trailing tab). `{EXPORT_PREFIX}/aws-logs-write-test` is the export's permission probe \
(`Permission Check Successful`), not a log."
    );
    let _ = writeln!(
        s,
        "* `aws/apigateway/{api}/beta/events.json` and `aws/lambda/{TOK_FN}/events.json`: \
`aws logs filter-log-events` output (`cli-json`), 4-space indentation; Lambda messages keep their \
trailing `\\n`."
    );
    let _ = writeln!(
        s,
        "* Not included: the beta execution log (so beta requests can only be explained from their \
access records and the authorizer logs), and no Firehose (`{DELIVERY_STREAM}`) objects.\n"
    );
    let _ = writeln!(s, "| path | log group | container | events |");
    let _ = writeln!(s, "|---|---|---|---|");
    for f in &t.files {
        let _ = writeln!(
            s,
            "| `{}` | `{}` | {} | {} |",
            f.path, f.log_group, f.container, f.events
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "Export tasks (the log group is not in the S3 key):\n");
    let _ = writeln!(s, "| task id | log group |");
    let _ = writeln!(s, "|---|---|");
    let mut tasks: Vec<(&str, &str)> = Vec::new();
    for f in &t.files {
        let mut parts = f.path.split('/');
        if parts.next() == Some(EXPORT_PREFIX) && f.events > 0 {
            if let Some(task) = parts.next() {
                if !tasks.iter().any(|(id, _)| *id == task) {
                    tasks.push((task, &f.log_group));
                }
            }
        }
    }
    for (id, group) in tasks {
        let _ = writeln!(s, "| `{id}` | `{group}` |");
    }
    let _ = writeln!(s);

    let _ = writeln!(s, "### Dirty lines (on purpose)\n");
    let _ = writeln!(
        s,
        "{} truncated access records (malformed JSON; each is a partial write followed by the \
complete record on the next line, so no request is lost) and {} lines of the unrelated log group \
`{}` (VPC flow-log records) sit among the prod access records:\n",
        t.malformed_lines.len(),
        t.unrelated_lines.len(),
        w.unrelated_group
    );
    let _ = writeln!(s, "| kind | file | line | request |");
    let _ = writeln!(s, "|---|---|---|---|");
    for d in &t.malformed_lines {
        let _ = writeln!(
            s,
            "| malformed | `{}` | {} | `{}` |",
            d.file,
            d.line,
            d.request_id.as_deref().unwrap_or("-")
        );
    }
    for d in &t.unrelated_lines {
        let _ = writeln!(s, "| unrelated | `{}` | {} | — |", d.file, d.line);
    }
    let _ = writeln!(s);

    let _ = writeln!(s, "## Expected counts\n");
    let _ = writeln!(
        s,
        "Phases and classes are the snake_case names of the DESIGN.md taxonomy. `refused` counts \
statuses the gateway produced; `denied` adds the backend's own 403s (`backend_denied`).\n"
    );
    let _ = writeln!(s, "| phase | class | prod | beta | total |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    for phase in PHASES {
        for c in CLASSES.iter().filter(|c| c.phase() == phase) {
            let n = c.name();
            let _ = writeln!(
                s,
                "| `{phase}` | `{n}` | {} | {} | {} |",
                prod.per_class[n], beta.per_class[n], t.per_class[n]
            );
        }
        for (p, n) in NOT_GENERATED.iter().filter(|(p, _)| *p == phase) {
            let _ = writeln!(s, "| `{p}` | `{n}` | 0 | 0 | 0 |");
        }
    }
    let _ = writeln!(
        s,
        "| — | not refused (incl. `backend_denied`) | {} | {} | {} |",
        prod.not_refused, beta.not_refused, t.not_refused
    );
    let _ = writeln!(
        s,
        "| — | **refused** | {} | {} | {} |",
        prod.refused, beta.refused, t.refused
    );
    let _ = writeln!(
        s,
        "| — | **denied** | {} | {} | {} |",
        prod.denied, beta.denied, t.denied
    );
    let _ = writeln!(
        s,
        "| — | **requests** | {} | {} | {} |\n",
        prod.requests, beta.requests, t.requests
    );
    let statuses: Vec<String> = t
        .per_status
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let _ = writeln!(s, "By status: {}.\n", statuses.join(", "));
    let i = &t.invocations;
    let _ = writeln!(
        s,
        "Authorizer Lambda invocations: {} ({} REQUEST, {} TOKEN), all matched to a request; {} cold \
starts; {} function errors (crash, thrown `Unauthorized`); {} Lambda log streams. Authorizer cache \
hits: {} ({} REQUEST, {} TOKEN).\n",
        i.total,
        i.request_authorizer,
        i.token_authorizer,
        i.cold_starts,
        i.function_errors,
        i.log_streams,
        t.cache_hits.total,
        t.cache_hits.request_authorizer,
        t.cache_hits.token_authorizer
    );
    let _ = writeln!(s, "CloudWatch events per log group (as simulated):\n");
    let _ = writeln!(s, "| log group | events | in this folder |");
    let _ = writeln!(s, "|---|---|---|");
    for (g, n) in &t.log_groups {
        let here = t.files.iter().any(|f| &f.log_group == g);
        let _ = writeln!(s, "| `{g}` | {n} | {} |", if here { "yes" } else { "no" });
    }
    s
}
