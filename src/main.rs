//! The `gatelog` binary: parse the command line, run the job, map the result to an exit code.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;

use gatelog::cli::{
    AnalyzeArgs, CheckFormatArgs, Cli, Command, CompressionArg, DdlArgs, ExplainArgs, GenerateArgs,
    KindArg,
};
use gatelog::input::ContainerKind;
use gatelog::model::LogKind;
use gatelog::pipeline::{self, AnalyzeOptions, PipelineError};
use gatelog::records::format;
use gatelog::sink::parquet::Compression;

const SAMPLE_HINT: &str = "no input given; try: gatelog analyze sample-data --out out/";

/// A usage error: exit 2.
#[derive(Debug)]
struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Usage {}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(msg.into()))
}

/// mimalloc: the pipeline allocates and frees millions of short strings and vectors on two
/// threads at once, where glibc's allocator spent about a third of the CPU in `malloc`,
/// `free` and `malloc_consolidate` (docs/PERFORMANCE.md §5). Measured on a 0.5 GB export:
/// 5.4–9.2 s with glibc, 3.7 s with mimalloc, byte-identical output.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc keeps freed pages for a second (its `purge_delay`) before giving them back, which
/// is fast but adds up to ~150 MB of RSS while a run churns through groups of shards. Under a
/// budget below the default (a tight `--memory-limit`, or half a small container's limit) a
/// small footprint comes first, so pages are given back at once (about 40 % slower on a
/// spilling run, measured; peak RSS 300 → 170 MB at 128M on a 500 MB export). At the default
/// limit and above, throughput comes first and peak RSS still stays under the limit
/// (docs/PERFORMANCE.md §3).
fn tune_allocator(memory_limit: u64) {
    if memory_limit < gatelog::memlimit::DEFAULT_BYTES {
        // `mi_option_purge_delay` in mimalloc.h (v3), which libmimalloc-sys does not name.
        const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
        // SAFETY: mi_option_set only stores an option value; safe from any thread.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(a) => analyze(*a),
        Command::Generate(g) => generate(g),
        Command::Explain(e) => explain(e),
        Command::CheckFormat(c) => check_format(c),
        Command::Ddl(d) => ddl(d),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let broken_pipe = e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("gatelog: error: {}", error_text(&e));
            if e.chain().any(|c| c.downcast_ref::<Usage>().is_some()) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// The error and its causes, `: `-separated as anyhow's `{:#}` prints them, less each cause
/// whose text is already there: most of our messages quote their cause before saying what to
/// do, and printed again it would trail the advice.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if s.is_empty() || text.contains(&s) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&s);
    }
    text
}

fn run_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}-{}", now.as_millis(), std::process::id())
}

fn analyze(a: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let (memory_limit, memory_limit_from, warning) =
        gatelog::memlimit::resolve(a.memory_limit, gatelog::memlimit::container_ceiling());
    if let Some(w) = warning {
        eprintln!("gatelog: warning: {w}");
    }
    tune_allocator(memory_limit);
    if a.inputs.is_empty() {
        return Err(usage(SAMPLE_HINT));
    }
    if !(0.0..=1.0).contains(&a.max_reject_rate) {
        return Err(usage("--max-reject-rate must be between 0 and 1"));
    }
    let mut access_formats = pipeline::AccessFormats::default();
    for f in &a.access_format {
        add_access_format(&mut access_formats, f)?;
    }
    let api_config =
        gatelog::apiconfig::ApiConfig::load(&a.api_config).map_err(|e| usage(e.to_string()))?;
    // A get-stage document gives its stage's access-log format, unless --access-format did.
    if access_formats.default.is_none() {
        for st in &api_config.stages {
            let Some(fmt) = &st.access_log_format else {
                continue;
            };
            let taken = access_formats.per_stage.iter().any(|((api, stage), _)| {
                stage == &st.name && (api.is_none() || st.api_id.is_none() || *api == st.api_id)
            });
            if taken {
                continue;
            }
            let f = format::compile(&format!("stage {}", st.name), fmt).map_err(|e| {
                usage(format!(
                    "--api-config: stage {}: accessLogSettings.format: {e}",
                    st.name
                ))
            })?;
            access_formats
                .per_stage
                .push(((st.api_id.clone(), st.name.clone()), Arc::new(f)));
        }
    }
    let container = match &a.container {
        None => None,
        Some(c) => Some(ContainerKind::from_name(c).ok_or_else(|| {
            let names: Vec<&str> = ContainerKind::ALL.iter().map(|k| k.as_str()).collect();
            usage(format!(
                "--container {c}: unknown container; one of {}",
                names.join(", ")
            ))
        })?),
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let when = |flag: &str, v: &Option<String>| -> anyhow::Result<Option<i64>> {
        v.as_deref()
            .map(|t| {
                pipeline::parse_when(t, now_ms).ok_or_else(|| {
                    usage(format!(
                        "{flag} {t}: not a time; use RFC 3339 (2025-10-14T14:05:00Z) or a duration before now (90m, 2h, 3d)"
                    ))
                })
            })
            .transpose()
    };
    let filter = pipeline::Filter {
        since_ms: when("--since", &a.since)?,
        until_ms: when("--until", &a.until)?,
        api_id: a.api_id.clone(),
        stage: a.stage.clone(),
    };
    let mut reports = pipeline::Reports {
        json: false,
        markdown: false,
        html: false,
    };
    for r in a.report.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        match r {
            "json" => reports.json = true,
            "md" | "markdown" => reports.markdown = true,
            "html" => reports.html = true,
            "none" => {}
            other => {
                return Err(usage(format!(
                    "--report {other}: one of json, md, html, none"
                )))
            }
        }
    }
    let opts = AnalyzeOptions {
        inputs: a.inputs.clone(),
        out: a.out.clone(),
        access_formats,
        container,
        kind: a.kind.map(|k| match k {
            KindArg::Access => LogKind::Access,
            KindArg::Authorizer => LogKind::Authorizer,
            KindArg::Execution => LogKind::Execution,
        }),
        threads: a.threads.map(|n| n.get()),
        overwrite: a.overwrite,
        rejects_per_reason: a.rejects_per_reason,
        compression: match a.compression {
            CompressionArg::Zstd => Compression::Zstd(1),
            CompressionArg::Snappy => Compression::Snappy,
        },
        max_rows_per_file: 5_000_000,
        memory_limit: usize::try_from(memory_limit).unwrap_or(usize::MAX),
        memory_limit_from,
        spill_dir: a.spill_dir.clone(),
        run_id: run_id(),
        filter,
        reports,
        api_config: Arc::new(api_config),
        athena: match &a.athena_location {
            Some(loc) => {
                // Checked before the run: a bad location is a usage error, not a failed run.
                gatelog::sink::sql::athena_ddl(loc, &a.athena_database)
                    .map_err(|e| usage(format!("--athena-location: {e}")))?;
                Some((loc.clone(), a.athena_database.clone()))
            }
            None => None,
        },
    };

    // Bytes read against the inputs' size while reading; then the phase, with a spinner.
    let progress = (!a.quiet && std::io::stderr().is_terminal()).then(|| {
        let pb = indicatif::ProgressBar::new(0);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {bytes}/{total_bytes} read  {binary_bytes_per_sec}  eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb
    });
    let on_progress = |p: pipeline::Progress| {
        let Some(pb) = &progress else { return };
        match p {
            pipeline::Progress::Start { bytes } => pb.set_length(bytes),
            pipeline::Progress::Read { bytes } => pb.inc(bytes),
            pipeline::Progress::Phase(phase) => {
                if let Ok(style) =
                    indicatif::ProgressStyle::with_template("{spinner} {msg}  {elapsed}")
                {
                    pb.set_style(style);
                }
                pb.set_message(format!(
                    "{} read; {phase}",
                    indicatif::HumanBytes(pb.position())
                ));
                pb.enable_steady_tick(std::time::Duration::from_millis(120));
            }
        }
    };
    gatelog::interrupt::install();
    let outcome = match pipeline::analyze(&opts, &on_progress) {
        Ok(o) => o,
        Err(PipelineError::Interrupted(_)) => {
            if let Some(pb) = &progress {
                pb.finish_and_clear();
            }
            eprintln!(
                "gatelog: interrupted; nothing was written to {} (its previous dataset, if any, is unchanged; the staging folder was removed)",
                a.out.display()
            );
            return Ok(ExitCode::from(gatelog::interrupt::EXIT_CODE));
        }
        Err(PipelineError::Input(e)) => return Err(usage(e.to_string())),
        Err(e @ PipelineError::Out(_)) => return Err(usage(e.to_string())),
        Err(e) => return Err(e).context("analyze failed"),
    };
    if let Some(pb) = &progress {
        pb.finish_and_clear();
    }
    let s = &outcome.summary;
    if outcome.filtered_out > 0 {
        eprintln!(
            "gatelog: {} requests outside --since/--until/--api-id/--stage were left out",
            outcome.filtered_out
        );
    }
    if outcome.stale_staging_removed > 0 {
        eprintln!(
            "gatelog: removed {} staging folder(s) left by an interrupted run",
            outcome.stale_staging_removed
        );
    }
    let mut stdout = std::io::stdout().lock();
    if a.json {
        writeln!(stdout, "{}", serde_json::to_string_pretty(s)?)?;
    } else if !a.quiet {
        write!(stdout, "{}", s.render_text())?;
        writeln!(stdout, "\nwritten to {}:", a.out.display())?;
        for w in &outcome.written {
            writeln!(stdout, "  {w}")?;
        }
    }
    let lines = s.input.access_records + s.input.authorizer_lines + s.input.execution_lines;
    if lines == 0 && !a.allow_empty {
        eprintln!(
            "gatelog: no API Gateway or authorizer log found in the inputs ({} files, {} events); pass --allow-empty to accept an empty run",
            s.input.files, s.input.events
        );
        return Ok(ExitCode::from(1));
    }
    let rejected = s.input.rejected_total();
    let rate = rejected as f64 / (lines + rejected).max(1) as f64;
    if rate > a.max_reject_rate {
        eprintln!(
            "gatelog: {rejected} lines rejected ({:.2}% > --max-reject-rate {:.2}%); see {}/rejects.ndjson",
            rate * 100.0,
            a.max_reject_rate * 100.0,
            a.out.display()
        );
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

fn generate(g: GenerateArgs) -> anyhow::Result<ExitCode> {
    let container = match &g.container {
        None => None,
        Some(c) => Some(gatelog::generate::Container::from_name(c).ok_or_else(|| {
            usage(format!(
                "--container {c}: one of s3-export, cli-json, firehose, lines"
            ))
        })?),
    };
    let report = gatelog::generate::generate(&gatelog::generate::GenerateOptions {
        requests: g.requests,
        out: g.out.clone(),
        seed: g.seed,
        container,
        gzip: g.gzip,
    })
    .with_context(|| format!("generating into {}", g.out.display()))?;
    eprintln!(
        "gatelog: wrote {} requests in {} files ({} bytes) to {}",
        report.requests,
        report.files.len(),
        report.bytes,
        g.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn explain(e: ExplainArgs) -> anyhow::Result<ExitCode> {
    let text = gatelog::explain::explain(&e.data, &e.id)?;
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// One `--access-format` value: `api/stage=FORMAT`, `@get-stage.json`, or a format for all.
fn add_access_format(formats: &mut pipeline::AccessFormats, arg: &str) -> anyhow::Result<()> {
    let flag = "--access-format";
    if let Some((key, rest)) = arg.split_once('=') {
        if let Some((api, stage)) = key.split_once('/') {
            let ident = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            };
            if ident(api) && ident(stage) {
                let f = read_format(flag, rest)?;
                formats
                    .per_stage
                    .push(((Some(api.into()), stage.into()), Arc::new(f)));
                return Ok(());
            }
        }
    }
    if let Some(path) = arg.strip_prefix('@') {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("{flag} {arg}: cannot read {path}: {e}")))?;
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
            // `aws apigateway get-stage` (one object) or `get-stages` (`item[]`).
            let stages: Vec<&serde_json::Value> = match v.get("item").and_then(|i| i.as_array()) {
                Some(items) => items.iter().collect(),
                None => vec![&v],
            };
            let mut found = 0;
            for st in stages {
                let fmt = st
                    .pointer("/accessLogSettings/format")
                    .and_then(|f| f.as_str());
                let name = st.get("stageName").and_then(|n| n.as_str());
                if let (Some(fmt), Some(name)) = (fmt, name) {
                    let f = format::compile(&format!("stage {name}"), fmt)
                        .map_err(|e| usage(format!("{flag} {arg}: stage {name}: {e}")))?;
                    let api = st
                        .get("restApiId")
                        .and_then(|a| a.as_str())
                        .map(String::from);
                    formats.per_stage.push(((api, name.into()), Arc::new(f)));
                    found += 1;
                }
            }
            if found > 0 {
                return Ok(());
            }
            if v.get("stageName").is_some() || v.get("item").is_some() {
                return Err(usage(format!("{flag} {arg}: no stage there has accessLogSettings.format; access logging is off?")));
            }
        }
    }
    if formats.default.is_some() {
        return Err(usage(format!(
            "{flag}: give one format for all sources, or API/STAGE=FORMAT per stage"
        )));
    }
    formats.default = Some(Arc::new(read_format(flag, arg)?));
    Ok(())
}

/// A format from the command line: a built-in name, `@FILE`, or the format string itself.
fn read_format(flag: &str, f: &str) -> anyhow::Result<format::Format> {
    if let Some((name, text)) = format::KNOWN.iter().find(|(n, _)| *n == f) {
        return format::compile(name, text).map_err(|e| usage(format!("{flag}: {e}")));
    }
    let text = match f.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| usage(format!("{flag} {f}: cannot read {path}: {e}")))?,
        None => f.to_string(),
    };
    format::compile("user", text.trim()).map_err(|e| usage(format!("{flag}: {e}")))
}

fn check_format(c: CheckFormatArgs) -> anyhow::Result<ExitCode> {
    use gatelog::classify::capability;
    let f = read_format("check-format", &c.format)?;
    let vars = f.vars;
    let verdicts = capability::check(vars);
    let mut out = std::io::stdout().lock();
    let names: Vec<&str> = vars.iter().map(|v| v.name()).collect();
    writeln!(out, "format `{}` carries: {}\n", f.name, names.join(", "))?;
    let (told, open): (Vec<_>, Vec<_>) = verdicts.iter().partition(|v| v.confused_with.is_empty());
    writeln!(out, "decided from the access log alone ({}):", told.len())?;
    for v in &told {
        writeln!(out, "  {} ({})", v.class.as_str(), v.class.phase().as_str())?;
    }
    writeln!(
        out,
        "\nnot decided from the access log alone ({}):",
        open.len()
    )?;
    let mut all_add = std::collections::BTreeSet::new();
    for v in &open {
        let with: Vec<&str> = v.confused_with.iter().map(|c| c.as_str()).collect();
        let add: Vec<String> = v
            .add
            .iter()
            .map(|x| format!("$context.{}", x.name()))
            .collect();
        all_add.extend(v.add.iter().copied());
        writeln!(
            out,
            "  {:<32} looks like {}",
            v.class.as_str(),
            with.join(", ")
        )?;
        if !add.is_empty() {
            writeln!(out, "  {:<32} add {}", "", add.join(", "))?;
        }
    }
    if !all_add.is_empty() {
        let add: Vec<String> = all_add
            .iter()
            .map(|x| format!("$context.{}", x.name()))
            .collect();
        writeln!(out, "\nadd to the format: {}", add.join(", "))?;
        writeln!(
            out,
            "or include the authorizer Lambda's log and the stage's execution log (INFO), which decide many of these"
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn ddl(d: DdlArgs) -> anyhow::Result<ExitCode> {
    let sql = gatelog::sink::sql::athena_ddl(&d.location, &d.database)
        .map_err(|e| usage(format!("--location: {e}")))?;
    std::io::stdout().lock().write_all(sql.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
