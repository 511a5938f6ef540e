//! Finding the inputs: expanding the paths a user gave into a sorted, numbered file list,
//! and reading what a path says about its log group or stream. No file content is read
//! here.

use std::fs;
use std::path::{Path, PathBuf};

use super::{InputError, InputFile};

/// Expands paths: files, directories recursively (sorted by path, deterministic), `-` for
/// standard input.
///
/// Inside directories, hidden entries (name starting with `.`) and Markdown files (`*.md`)
/// are skipped: they are documentation, not logs; symbolic links to files are followed,
/// links to directories are not (no cycles). A path named explicitly is always taken. A path
/// that does not exist is [`InputError::NotFound`]; no file at all is
/// [`InputError::NoInputs`]. Ids follow the sorted order, standard input last; a file named
/// twice is listed once.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<InputFile>, InputError> {
    let mut found: Vec<(PathBuf, Option<u64>)> = Vec::new();
    let mut stdin = false;
    for p in paths {
        if p.as_os_str() == "-" {
            stdin = true;
            continue;
        }
        let meta = fs::metadata(p).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                InputError::NotFound { path: p.clone() }
            } else {
                InputError::Io {
                    path: p.clone(),
                    source,
                }
            }
        })?;
        if meta.is_dir() {
            walk(p, &mut found)?;
        } else {
            found.push((p.clone(), meta.is_file().then_some(meta.len())));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found.dedup_by(|a, b| a.0 == b.0);
    let mut files: Vec<InputFile> = found
        .into_iter()
        .zip(0u32..)
        .map(|((path, size), id)| InputFile {
            id,
            display: path.display().to_string(),
            path: Some(path),
            size,
        })
        .collect();
    if stdin {
        files.push(InputFile {
            id: files.len() as u32,
            path: None,
            display: "-".to_string(),
            size: None,
        });
    }
    if files.is_empty() {
        return Err(InputError::NoInputs);
    }
    Ok(files)
}

/// Adds every regular file under `dir` (see [`discover`] for what is skipped).
fn walk(dir: &Path, out: &mut Vec<(PathBuf, Option<u64>)>) -> Result<(), InputError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InputError::Io { path, source }
    };
    let mut entries = fs::read_dir(dir)
        .map_err(io_err(dir))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_err(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.to_ascii_lowercase().ends_with(".md") {
            continue;
        }
        let path = e.path();
        let ft = e.file_type().map_err(io_err(&path))?;
        if ft.is_dir() {
            walk(&path, out)?;
        } else if ft.is_file() {
            let len = e.metadata().map_err(io_err(&path))?.len();
            out.push((path, Some(len)));
        } else if ft.is_symlink() {
            // Follow links to files; a dangling link or a link to a directory is left out.
            if let Ok(meta) = fs::metadata(&path) {
                if meta.is_file() {
                    out.push((path, Some(meta.len())));
                }
            }
        }
    }
    Ok(())
}

/// Path segments, split on `/` (and `\` on Windows-style paths).
fn segments(display: &str) -> Vec<&str> {
    display
        .split(['/', '\\'])
        .filter(|s| !s.is_empty() && *s != ".")
        .collect()
}

/// Whether the path names a Lambda or execution log group: logs whose lines depend on the
/// lines before them (an invocation's START to REPORT, a request's execution lines), so a
/// file of one is never read in independent pieces.
pub(crate) fn path_names_stateful_log(display: &str) -> bool {
    log_group_from_path(display).is_some_and(|g| {
        g.starts_with("/aws/lambda/") || g.starts_with("API-Gateway-Execution-Logs_")
    })
}

/// The log group a path names, if any: segments `aws/lambda/NAME` give `/aws/lambda/NAME`;
/// a segment starting `API-Gateway-Execution-Logs_` followed by a stage segment gives
/// `API-Gateway-Execution-Logs_{apiId}/{stage}`; `aws/apigateway/…` gives `/aws/apigateway/`
/// and up to two further directory segments (`/aws/apigateway/{apiId}/{stage}`). The last
/// segment is the file's own name and never part of a group.
pub fn log_group_from_path(display: &str) -> Option<String> {
    let segs = segments(display);
    let dirs = &segs[..segs.len().saturating_sub(1)];
    for (i, s) in dirs.iter().enumerate() {
        if s.starts_with("API-Gateway-Execution-Logs_") && s.len() > 27 {
            if let Some(stage) = dirs.get(i + 1) {
                return Some(format!("{s}/{stage}"));
            }
        }
        if *s == "aws" {
            match dirs.get(i + 1) {
                Some(&"lambda") => {
                    if let Some(name) = dirs.get(i + 2) {
                        return Some(format!("/aws/lambda/{name}"));
                    }
                }
                Some(&"apigateway") => {
                    let rest = &dirs[i + 2..dirs.len().min(i + 4)];
                    if !rest.is_empty() {
                        return Some(format!("/aws/apigateway/{}", rest.join("/")));
                    }
                }
                _ => {}
            }
        }
    }
    None
}

/// Whether `s` is a canonical UUID (a CreateExportTask id).
fn is_task_id(s: &str) -> bool {
    crate::model::is_uuid(s)
}

/// The log stream a CreateExportTask object key names: the segments between the export
/// task id (a UUID) and the object name `NNNNNN.gz`, joined with `/` (Lambda streams such
/// as `2025/10/14/[$LATEST]…` are kept as nested folders).
pub fn s3_export_stream_from_path(display: &str) -> Option<String> {
    let segs = segments(display);
    let (last, dirs) = segs.split_last()?;
    let object = last.strip_suffix(".gz")?;
    if object.len() != 6 || !object.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let task = dirs.iter().rposition(|s| is_task_id(s))?;
    let stream = &dirs[task + 1..];
    (!stream.is_empty()).then(|| stream.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::testutil::sample;
    use std::fs;

    #[test]
    fn groups_from_paths() {
        assert_eq!(
            log_group_from_path("exports/aws/lambda/payments-auth/2025/10/14/x.gz").as_deref(),
            Some("/aws/lambda/payments-auth")
        );
        assert_eq!(log_group_from_path("exports/aws/lambda/fn.json"), None);
        assert_eq!(
            log_group_from_path("d/API-Gateway-Execution-Logs_k3vq8zt1pw/live/000000.gz")
                .as_deref(),
            Some("API-Gateway-Execution-Logs_k3vq8zt1pw/live")
        );
        assert_eq!(
            log_group_from_path("/tmp/aws/apigateway/k3vq8zt1pw/live/a/b.log").as_deref(),
            Some("/aws/apigateway/k3vq8zt1pw/live")
        );
        assert_eq!(
            log_group_from_path("/tmp/aws/apigateway/welcome/b.log").as_deref(),
            Some("/aws/apigateway/welcome")
        );
        assert_eq!(log_group_from_path("access.json"), None);
        assert_eq!(log_group_from_path("-"), None);
        assert_eq!(
            log_group_from_path("API-Gateway-Execution-Logs_x/live"),
            None
        );
    }

    #[test]
    fn streams_from_export_keys() {
        let p = "s3-export/gatelog-incident-20251014/bd35132a-401f-48a5-9b6c-e677d95b5add/\
                 2025/10/14/[$LATEST]ece69e1643e61d7c8723003d2f851a79/000000.gz";
        assert_eq!(
            s3_export_stream_from_path(p).as_deref(),
            Some("2025/10/14/[$LATEST]ece69e1643e61d7c8723003d2f851a79")
        );
        let p = "x/0d77edd8-9813-4ed9-99fb-b7a9c4cbde9f/e5ca669b811b3102481db1503ab343a1/000001.gz";
        assert_eq!(
            s3_export_stream_from_path(p).as_deref(),
            Some("e5ca669b811b3102481db1503ab343a1")
        );
        assert_eq!(s3_export_stream_from_path("x/e5ca669b/000000.gz"), None);
        assert_eq!(s3_export_stream_from_path("access.json"), None);
    }

    #[test]
    fn discovers_sorted_skips_hidden_and_markdown() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir_all(d.join("b/.hidden")).unwrap();
        fs::create_dir_all(d.join("a")).unwrap();
        fs::write(d.join("b/2.log"), "x").unwrap();
        fs::write(d.join("b/.hidden/3.log"), "x").unwrap();
        fs::write(d.join("a/1.log"), "xy").unwrap();
        fs::write(d.join("a/.dot"), "x").unwrap();
        fs::write(d.join("README.md"), "doc").unwrap();
        fs::write(d.join("NOTES.MD"), "doc").unwrap();
        let explicit = d.join("README.md");
        let files = discover(&[
            PathBuf::from("-"),
            d.join("b"),
            d.to_path_buf(),
            explicit.clone(),
        ])
        .unwrap();
        let names: Vec<_> = files.iter().map(|f| f.display.clone()).collect();
        assert_eq!(
            names,
            vec![
                explicit.display().to_string(),
                d.join("a/1.log").display().to_string(),
                d.join("b/2.log").display().to_string(),
                "-".to_string()
            ]
        );
        assert_eq!(files.iter().map(|f| f.id).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(files[1].size, Some(2));
        assert_eq!(files[3].path, None);
    }

    #[test]
    fn missing_and_empty() {
        let dir = tempfile::tempdir().unwrap();
        match discover(&[dir.path().join("nope")]) {
            Err(InputError::NotFound { path }) => assert!(path.ends_with("nope")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            discover(&[dir.path().to_path_buf()]),
            Err(InputError::NoInputs)
        ));
        assert!(matches!(discover(&[]), Err(InputError::NoInputs)));
        let msg = InputError::NoInputs.to_string();
        assert!(msg.contains("standard input"), "{msg}");
    }

    #[test]
    fn sample_tree_is_found_with_latest_folders() {
        let files = discover(&[sample("")]).unwrap();
        assert_eq!(files.len(), 18);
        assert!(files.iter().any(|f| f.display.contains("[$LATEST]")));
        let mut sorted = files.clone();
        sorted.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(files, sorted);
    }
}
