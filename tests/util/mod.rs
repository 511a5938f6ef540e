//! Test harness: a fresh temp dir per test, the binary, and the requests table read back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/samples")
}

pub fn gatelog(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatelog"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run gatelog")
}

pub fn analyze(inputs: &[PathBuf], out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<String> = vec!["analyze".into()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(["--out".to_string(), out.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    gatelog(&refs)
}

/// All Parquet part files of a table, sorted by path.
pub fn parts(out: &Path, table: &str) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let Ok(dirs) = std::fs::read_dir(out.join(table)) else {
        return v;
    };
    for d in dirs.flatten() {
        for f in std::fs::read_dir(d.path()).unwrap().flatten() {
            v.push(f.path());
        }
    }
    v.sort();
    v
}

/// A cell rendered as text (lists joined with `|`, maps as `k=v|…`, null as None).
fn cell(col: &dyn Array, i: usize) -> Option<String> {
    if col.is_null(i) {
        return None;
    }
    Some(match col.data_type() {
        DataType::Utf8 => col.as_string::<i32>().value(i).to_string(),
        DataType::Int32 => col
            .as_primitive::<arrow_array::types::Int32Type>()
            .value(i)
            .to_string(),
        DataType::Int64 => col
            .as_primitive::<arrow_array::types::Int64Type>()
            .value(i)
            .to_string(),
        DataType::Float64 => col
            .as_primitive::<arrow_array::types::Float64Type>()
            .value(i)
            .to_string(),
        DataType::Boolean => col.as_boolean().value(i).to_string(),
        DataType::Timestamp(_, _) => col
            .as_primitive::<arrow_array::types::TimestampMillisecondType>()
            .value(i)
            .to_string(),
        DataType::List(_) => {
            let l = col.as_list::<i32>().value(i);
            (0..l.len())
                .filter_map(|j| cell(&l, j))
                .collect::<Vec<_>>()
                .join("|")
        }
        DataType::Map(_, _) => {
            let m = col.as_map().value(i);
            let k = m.column(0);
            let v = m.column(1);
            (0..m.len())
                .map(|j| {
                    format!(
                        "{}={}",
                        cell(k, j).unwrap_or_default(),
                        cell(v, j).unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("|")
        }
        other => format!("<{other}>"),
    })
}

pub type Row = BTreeMap<String, Option<String>>;

/// Every row of a table, in file order.
pub fn rows(out: &Path, table: &str) -> Vec<Row> {
    let mut all = Vec::new();
    for p in parts(out, table) {
        let batches: Vec<RecordBatch> =
            gatelog::sink::dataset::read_back(&p).expect("read parquet");
        for b in batches {
            for i in 0..b.num_rows() {
                let mut r = Row::new();
                for (f, c) in b.schema().fields().iter().zip(b.columns()) {
                    r.insert(f.name().clone(), cell(c.as_ref(), i));
                }
                all.push(r);
            }
        }
    }
    all
}

pub fn get<'a>(r: &'a Row, k: &str) -> Option<&'a str> {
    r.get(k)
        .unwrap_or_else(|| panic!("no column {k}"))
        .as_deref()
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Every file under `root` except inside `.staging-*`, by relative path, with its bytes.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_name().to_string_lossy().starts_with(".staging-") {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.insert(p.strip_prefix(root).unwrap().to_path_buf(), bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The `.staging-*` directories of a dataset directory (a run's, or a killed one's).
pub fn staging_dirs(out: &Path) -> Vec<String> {
    std::fs::read_dir(out)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".staging-"))
                .collect()
        })
        .unwrap_or_default()
}

/// The dataset's `_manifest.json`.
pub fn manifest(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("_manifest.json")).unwrap()).unwrap()
}
