//! Memory stays bounded: past `--memory-limit` the join spills to disk, and the peak RSS of
//! the process (the `Maximum resident set size` that `/usr/bin/time -v` prints; the run writes
//! its own, `VmHWM`, into `_manifest.json`) stays within the limit plus the overhead README.md
//! "Memory" documents. (Not `wait4`'s count: a child spawned from this multi-threaded test
//! process carries the test process's own peak into it until it execs.)

use std::process::Command;

use crate::util;

/// The limit the test runs with.
const LIMIT_MIB: u64 = 128;
/// README.md "Memory": what comes on top of the limit for an export of this size — the
/// program, thread stacks, open Parquet writers, and the heads of the authorizer invocations
/// the linker keeps in memory up to a tenth of the limit (about 170 bytes each; ~44,000, or
/// 7 MiB, here; past the tenth they take room from the limit's own shares).
const OVERHEAD_MIB: u64 = 96;

#[test]
fn a_500_mb_export_stays_within_the_memory_limit() {
    let tmp = util::tmp();
    let input = generated(tmp.path(), 185_000, &["--container", "lines"]);
    let bytes: u64 = walk(&input)
        .iter()
        .map(|p| p.metadata().unwrap().len())
        .sum();
    assert!(bytes > 450 << 20, "the export is {} MiB", bytes >> 20);

    let out = tmp.path().join("out");
    let o = util::analyze(
        std::slice::from_ref(&input),
        &out,
        &["--memory-limit", &format!("{LIMIT_MIB}M"), "-q"],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("spilled"),
        "the join must have spilled: {stderr}"
    );
    let manifest = util::manifest(&out);
    let rss_mib = manifest["run"]["peak_rss_bytes"]
        .as_u64()
        .expect("peak RSS")
        >> 20;
    // What the process says is not less than what it must hold at least: the program.
    assert!(rss_mib >= 8, "{manifest}");
    eprintln!(
        "peak RSS {rss_mib} MiB for {} MiB of input at --memory-limit {LIMIT_MIB}M",
        bytes >> 20
    );
    assert!(
        rss_mib <= LIMIT_MIB + OVERHEAD_MIB,
        "peak RSS {rss_mib} MiB > {LIMIT_MIB} MiB limit + {OVERHEAD_MIB} MiB overhead"
    );
    assert_eq!(manifest["counts"]["requests"], 185_000, "{manifest}");
    assert!(manifest["run"]["spilled_bytes"].as_u64().unwrap() > 0);
}

/// A run that spills gives the rows and summary of a run that does not: only the files'
/// row order may differ.
#[test]
fn spilling_changes_no_answer() {
    let tmp = util::tmp();
    // Enough authorizer invocations that their bodies pass a tenth of the 16M limit too.
    let input = generated(tmp.path(), 30_000, &[]);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let ra = util::analyze(std::slice::from_ref(&input), &a, &["-q"]);
    let rb = util::analyze(
        std::slice::from_ref(&input),
        &b,
        &[
            "-q",
            "--memory-limit",
            "16M",
            "--spill-dir",
            tmp.path().join("spill").to_str().unwrap(),
        ],
    );
    assert!(ra.status.success() && rb.status.success());
    assert!(String::from_utf8_lossy(&rb.stderr).contains("spilled"));
    let manifest = util::manifest(&b);
    let bodies = manifest["run"]["invocation_spilled_bytes"]
        .as_u64()
        .unwrap();
    assert!(bodies > 0, "{manifest}");
    assert!(
        !tmp.path().join("spill").read_dir().unwrap().any(|_| true),
        "spill files removed"
    );
    let key = |r: &util::Row| {
        format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            util::get(r, "request_id"),
            util::get(r, "source_line"),
            util::get(r, "denial_class"),
            util::get(r, "confidence"),
            util::get(r, "authorizer_lambda_request_id"),
            util::get(r, "authorizer_log_covers"),
        )
    };
    let mut rows_a: Vec<String> = util::rows(&a, "requests").iter().map(key).collect();
    let mut rows_b: Vec<String> = util::rows(&b, "requests").iter().map(key).collect();
    rows_a.sort();
    rows_b.sort();
    assert_eq!(rows_a.len(), 30_000);
    assert_eq!(rows_a, rows_b);
    let summary = |d: &std::path::Path| {
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("summary.json")).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("run");
        v
    };
    assert_eq!(summary(&a), summary(&b));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v
}

/// The heads of the authorizer invocations stay in memory through the join (their bodies
/// do not): the manifest says how much they hold. Past a tenth of the limit they take room
/// from the records held while parsing and from the groups, so a run whose heads are over
/// a quarter of the limit still fits and says nothing; the result is the same.
#[test]
fn the_invocations_heads_take_their_room_from_the_limit() {
    let tmp = util::tmp();
    let input = generated(tmp.path(), 120_000, &[]);
    let run = |out: &str, limit: &str| {
        let out = tmp.path().join(out);
        let r = util::analyze(
            std::slice::from_ref(&input),
            &out,
            &["-q", "--memory-limit", limit],
        );
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let manifest = util::manifest(&out);
        (String::from_utf8_lossy(&r.stderr).into_owned(), manifest)
    };
    let (roomy_said, roomy) = run("roomy", "512M");
    let held = roomy["run"]["invocation_bytes"].as_u64().unwrap();
    let invocations = roomy["counts"]["authorizer_invocations"].as_u64().unwrap();
    assert!(invocations > 1000, "{roomy}");
    let per = held / invocations;
    assert!((150..200).contains(&per), "{per} bytes an invocation");
    assert!(
        !roomy_said.contains("authorizer invocations are kept"),
        "{roomy_said}"
    );
    // Some 27,000 invocations: over a quarter of the smallest limit, under the 0.4 of it
    // that the held records and the groups make room for.
    assert!(held > 4 << 20 && held < 6 << 20, "{held} bytes held");
    let (tight_said, tight) = run("tight", "16M");
    assert!(
        tight["run"]["spilled_bytes"].as_u64().unwrap() > 0,
        "{tight}"
    );
    assert!(
        !tight_said.contains("authorizer invocations are kept"),
        "{tight_said}"
    );
    assert_eq!(tight["counts"], roomy["counts"]);
    assert_eq!(
        tight["run"]["invocation_bytes"], roomy["run"]["invocation_bytes"],
        "the same heads"
    );
}

/// `gatelog generate --requests N [extra…]` into `dir/export` (by default the sample-data
/// mix of containers).
fn generated(dir: &std::path::Path, requests: u64, extra: &[&str]) -> std::path::PathBuf {
    let input = dir.join("export");
    let n = requests.to_string();
    let mut args = vec![
        "generate",
        "--requests",
        &n,
        "--out",
        input.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let gen = util::gatelog(&args);
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    input
}

/// Runs `cmd` with a file-size limit of 1 MiB (`ulimit -f`) and SIGXFSZ ignored, so that a
/// write past the limit fails with EFBIG as a write to a full disk fails with ENOSPC.
fn with_one_mib_files(cmd: &mut Command) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec the closure only calls signal and setrlimit, which are
    // async-signal-safe, and allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 1 << 20,
                rlim_max: 1 << 20,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.env("NO_COLOR", "1").output().expect("run gatelog")
}

/// A spill or an output file that finds no room ends the run with exit status 1 and a
/// message that names the file and says what to do; the previous dataset is left as it was,
/// and neither the run's staging directory nor its spill files stay behind. (The room runs
/// out here at a file-size limit, which a test can set where it cannot mount a small disk; a
/// full disk takes the same path with its own advice, unit-tested in src/spill.rs.)
#[test]
fn a_spill_or_output_with_no_room_fails_cleanly_and_keeps_the_previous_dataset() {
    let tmp = util::tmp();
    let input = generated(tmp.path(), 30_000, &["--container", "lines"]);
    let out = tmp.path().join("out");
    let first = util::analyze(std::slice::from_ref(&input), &out, &["-q"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let before = util::snapshot(&out);
    // The requests table of this export is one Parquet file of some 2.7 MB.
    assert!(
        before.values().any(|b| b.len() > 1 << 20),
        "no output file is past the limit"
    );
    let spill = tmp.path().join("spill");
    let analyze = |extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatelog"));
        cmd.arg("analyze")
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .arg("-q")
            .args(extra);
        with_one_mib_files(&mut cmd)
    };
    let spill_arg = spill.to_str().unwrap();
    for (extra, says) in [
        (
            &["--memory-limit", "16M", "--spill-dir", spill_arg][..],
            &[
                "cannot write the spill file",
                spill_arg,
                "ulimit -f",
                "--memory-limit",
            ][..],
        ),
        (
            &[][..],
            &["cannot write Parquet file", "part-", "--out has room"][..],
        ),
    ] {
        let o = analyze(extra);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {stderr}");
        for s in says {
            assert!(stderr.contains(s), "{extra:?}: no {s:?} in {stderr}");
        }
        // The cause is quoted once, before the advice, not repeated after it.
        assert_eq!(stderr.matches("os error").count(), 1, "{extra:?}: {stderr}");
        assert!(
            stderr
                .trim_end()
                .ends_with("ulimit -f): raise that limit, or raise --memory-limit")
                || stderr.trim_end().ends_with("until a run commits)"),
            "{stderr}"
        );
        assert_eq!(
            util::snapshot(&out),
            before,
            "{extra:?}: the previous dataset changed"
        );
        let left = util::staging_dirs(&out);
        assert!(left.is_empty(), "{extra:?}: staging left behind: {left:?}");
        let spilled: Vec<_> = std::fs::read_dir(&spill)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(spilled.is_empty(), "spill files left behind: {spilled:?}");
    }
}

/// A memory cgroup of its own for a test, removed when dropped (after the processes in it
/// ended): cgroup v1's memory hierarchy or v2's, where this process may make one.
struct Cgroup {
    dir: std::path::PathBuf,
}

impl Cgroup {
    /// A cgroup limited to `bytes`, or `None` where none can be made (not root, or no memory
    /// controller to write to, as in an unprivileged container).
    fn limited_to(bytes: u64) -> Option<Cgroup> {
        let name = format!("gatelog-test-{}", std::process::id());
        let hierarchies = [
            ("/sys/fs/cgroup/memory", "memory.limit_in_bytes"),
            ("/sys/fs/cgroup", "memory.max"),
        ];
        hierarchies.iter().find_map(|(root, file)| {
            let dir = std::path::Path::new(root).join(&name);
            std::fs::create_dir(&dir).ok()?;
            let cg = Cgroup { dir };
            std::fs::write(cg.dir.join(file), bytes.to_string()).ok()?;
            Some(cg)
        })
    }

    /// `gatelog ARGS…`, started inside the cgroup.
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("sh")
            .arg("-c")
            .arg(r#"echo $$ > "$0/cgroup.procs" && exec "$@""#)
            .arg(&self.dir)
            .arg(env!("CARGO_BIN_EXE_gatelog"))
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .expect("run gatelog")
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// In a container whose memory limit is below what the default `--memory-limit` peaks at,
/// the default becomes half the container's limit, so the kernel does not kill the run (a
/// 164 MB export peaked at 197 MiB with the fixed 512M default and was killed in a 192 MiB
/// cgroup). Needs a cgroup this process may make (root); the limit's reading is unit-tested
/// in src/memlimit.rs on v1 and v2 layouts.
#[test]
fn in_a_small_container_the_default_limit_is_half_the_containers() {
    const CONTAINER_MIB: u64 = 192;
    let Some(cgroup) = Cgroup::limited_to(CONTAINER_MIB << 20) else {
        eprintln!("skipped: no memory cgroup can be made here (needs root)");
        return;
    };
    let tmp = util::tmp();
    let input = generated(tmp.path(), 60_000, &["--container", "lines"]);
    let out = tmp.path().join("out");
    let o = cgroup.run(&[
        "analyze",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{:?} {stderr}", o.status);
    assert!(
        stderr.contains("half of the container's memory limit (192 MiB"),
        "{stderr}"
    );
    let manifest = util::manifest(&out);
    assert_eq!(manifest["counts"]["requests"], 60_000, "{manifest}");
    assert_eq!(
        manifest["run"]["memory_limit_bytes"],
        96 << 20,
        "{manifest}"
    );
    let from = manifest["run"]["memory_limit_from"].as_str().unwrap();
    assert!(from.contains(&cgroup.dir.display().to_string()), "{from}");
    let rss_mib = manifest["run"]["peak_rss_bytes"].as_u64().unwrap() >> 20;
    assert!(rss_mib < CONTAINER_MIB, "peak RSS {rss_mib} MiB");

    // A limit given above what the container allows is kept, with a warning.
    let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-data");
    let out = tmp.path().join("samples");
    let o = cgroup.run(&[
        "analyze",
        "--memory-limit",
        "160M",
        samples,
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{:?}", o.status);
    assert_eq!(
        util::manifest(&out)["run"]["memory_limit_from"],
        "--memory-limit"
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("warning: --memory-limit 160 MiB leaves less than 96 MiB of this container's 192 MiB memory limit"),
        "{stderr}"
    );
}
