//! The memory budget of a run (`--memory-limit`) when none is given: 512 MiB, or half of the
//! memory limit of the container the process runs in when that is smaller.
//!
//! A batch job in a container (ECS, Kubernetes, AWS Batch, a systemd unit with `MemoryMax`)
//! is killed by the kernel when it passes its cgroup's limit, with no message. A default of
//! 512 MiB peaks at about 450–480 MiB, so in a 400 MiB container it was killed a second into
//! the run. The limit is read from the cgroup the process is in, v2 (`memory.max`,
//! `memory.high`) or v1 (`memory.limit_in_bytes`), and from every cgroup above it up to the
//! hierarchy's mount: a parent's limit binds its children. Half of it leaves room for what
//! the budget does not count (the page cache of the files the run writes is charged to the
//! cgroup too, and the allocator's pages in flight).

use std::fmt;
use std::path::{Path, PathBuf};

/// The budget when neither the flag nor a container says otherwise.
pub const DEFAULT_BYTES: u64 = 512 << 20;
/// The smallest budget (what `--memory-limit` accepts).
pub const MIN_BYTES: u64 = 16 << 20;
/// What a run holds besides its budget at most (README "Memory": the tests bound the peak
/// by the limit plus this): an explicit limit closer than this to the container's is warned
/// about.
pub const OVERHEAD_BYTES: u64 = 96 << 20;

/// A container memory limit: its bytes and the file that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceiling {
    /// The tightest limit found.
    pub bytes: u64,
    /// The cgroup file it was read from.
    pub file: PathBuf,
}

/// Where a run's memory budget came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitFrom {
    /// `--memory-limit`.
    Flag,
    /// [`DEFAULT_BYTES`].
    Default,
    /// Half of a container's limit, smaller than the default.
    Container(Ceiling),
}

impl fmt::Display for LimitFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitFrom::Flag => f.write_str("--memory-limit"),
            LimitFrom::Default => f.write_str("default"),
            LimitFrom::Container(c) => write!(
                f,
                "half of the container's memory limit ({} MiB, {})",
                c.bytes >> 20,
                c.file.display()
            ),
        }
    }
}

/// The budget a run uses, where it came from, and a warning for stderr when a given
/// `--memory-limit` leaves the container too little room, or the container itself is too
/// small.
pub fn resolve(flag: Option<u64>, ceiling: Option<Ceiling>) -> (u64, LimitFrom, Option<String>) {
    match (flag, ceiling) {
        (Some(bytes), Some(c)) if bytes.saturating_add(OVERHEAD_BYTES) > c.bytes => {
            let warning = format!(
                "--memory-limit {} MiB leaves less than {} MiB of this container's {} MiB memory \
                 limit ({}) for what the limit does not count: the kernel may kill the run \
                 without a message; leave out --memory-limit to use half the container's limit \
                 ({} MiB)",
                bytes >> 20,
                OVERHEAD_BYTES >> 20,
                c.bytes >> 20,
                c.file.display(),
                half(c.bytes) >> 20
            );
            (bytes, LimitFrom::Flag, Some(warning))
        }
        (Some(bytes), _) => (bytes, LimitFrom::Flag, None),
        (None, Some(c)) if half(c.bytes) < DEFAULT_BYTES => {
            let warning = (c.bytes < MIN_BYTES + OVERHEAD_BYTES).then(|| {
                format!(
                    "this container's memory limit ({} MiB, {}) leaves gatelog too little room: \
                     the kernel may kill the run without a message; give the container at least \
                     {} MiB",
                    c.bytes >> 20,
                    c.file.display(),
                    (2 * MIN_BYTES + OVERHEAD_BYTES) >> 20
                )
            });
            (half(c.bytes), LimitFrom::Container(c), warning)
        }
        (None, _) => (DEFAULT_BYTES, LimitFrom::Default, None),
    }
}

fn half(bytes: u64) -> u64 {
    (bytes / 2).max(MIN_BYTES)
}

/// The memory limit of the container this process runs in (the tightest of its cgroup's and
/// its ancestors'), if any; `None` outside Linux or without a limit.
pub fn container_ceiling() -> Option<Ceiling> {
    ceiling_with(&|p: &Path| std::fs::read_to_string(p).ok())
}

/// [`container_ceiling`] over the files `read` returns (`/proc/self/cgroup`,
/// `/proc/self/mountinfo` and the cgroup files), so that tests can stand in for `/proc` and
/// `/sys`.
pub fn ceiling_with(read: &dyn Fn(&Path) -> Option<String>) -> Option<Ceiling> {
    let cgroups = read(Path::new("/proc/self/cgroup"))?;
    let mounts = read(Path::new("/proc/self/mountinfo"))?;
    let mut best: Option<Ceiling> = None;
    for m in mounts.lines().filter_map(Mount::parse) {
        let (files, path): (&[&str], _) = match m.kind {
            Hierarchy::V2 => (
                &["memory.max", "memory.high"],
                cgroups.lines().find_map(|l| l.strip_prefix("0::")),
            ),
            Hierarchy::V1Memory => (
                &["memory.limit_in_bytes"],
                cgroups.lines().find_map(|l| {
                    let mut parts = l.splitn(3, ':');
                    let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
                    controllers
                        .split(',')
                        .any(|c| c == "memory")
                        .then_some(path)
                }),
            ),
        };
        let Some(path) = path else { continue };
        // The cgroup's directory under the mount: its path less the mount's root (a container
        // sees its own cgroup as the root), else the mount point itself.
        let rel = match path.strip_prefix(m.root) {
            Some(rel) if m.root == "/" || rel.is_empty() || rel.starts_with('/') => rel,
            _ => "",
        };
        let mut dir = Path::new(m.point).join(rel.trim_start_matches('/'));
        loop {
            for name in files {
                let file = dir.join(name);
                if let Some(bytes) = read(&file).as_deref().and_then(limit_bytes) {
                    if best.as_ref().is_none_or(|b| bytes < b.bytes) {
                        best = Some(Ceiling { bytes, file });
                    }
                }
            }
            if dir == Path::new(m.point) || !dir.pop() || !dir.starts_with(m.point) {
                break;
            }
        }
    }
    best
}

/// A limit file's value: bytes, or `None` for no limit (`max`, or v1's page-rounded
/// `i64::MAX`).
fn limit_bytes(text: &str) -> Option<u64> {
    let n: u64 = text.trim().parse().ok()?;
    (n < 1 << 60).then_some(n)
}

enum Hierarchy {
    V2,
    V1Memory,
}

/// A cgroup hierarchy's mount, from a line of `/proc/self/mountinfo`.
struct Mount<'a> {
    root: &'a str,
    point: &'a str,
    kind: Hierarchy,
}

impl<'a> Mount<'a> {
    /// `ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTIONS`
    fn parse(line: &'a str) -> Option<Self> {
        let (left, right) = line.split_once(" - ")?;
        let mut l = left.split(' ');
        let (root, point) = (l.nth(3)?, l.next()?);
        let mut r = right.split(' ');
        let (fstype, superopts) = (r.next()?, r.nth(1).unwrap_or(""));
        let kind = match fstype {
            "cgroup2" => Hierarchy::V2,
            "cgroup" if superopts.split(',').any(|o| o == "memory") => Hierarchy::V1Memory,
            _ => return None,
        };
        Some(Mount { root, point, kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn fs(files: &[(&str, &str)]) -> impl Fn(&Path) -> Option<String> {
        let map: HashMap<PathBuf, String> = files
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.to_string()))
            .collect();
        move |p: &Path| map.get(p).cloned()
    }

    const V2_MOUNT: &str = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

    #[test]
    fn a_v2_container_sees_its_own_cgroup_as_the_root() {
        // Docker or Kubernetes with a cgroup namespace: `0::/`, the limit at the mount.
        let read = fs(&[
            ("/proc/self/cgroup", "0::/\n"),
            ("/proc/self/mountinfo", V2_MOUNT),
            ("/sys/fs/cgroup/memory.max", "419430400\n"),
            ("/sys/fs/cgroup/memory.high", "max\n"),
        ]);
        assert_eq!(
            ceiling_with(&read),
            Some(Ceiling {
                bytes: 400 << 20,
                file: "/sys/fs/cgroup/memory.max".into()
            })
        );
    }

    #[test]
    fn the_tightest_limit_of_the_cgroup_and_its_ancestors_binds() {
        // A systemd unit under a slice: the slice's MemoryMax is lower than the unit's
        // MemoryHigh, and the leaf has none.
        let read = fs(&[
            ("/proc/self/cgroup", "0::/batch.slice/gatelog.service\n"),
            ("/proc/self/mountinfo", V2_MOUNT),
            (
                "/sys/fs/cgroup/batch.slice/gatelog.service/memory.max",
                "max\n",
            ),
            (
                "/sys/fs/cgroup/batch.slice/gatelog.service/memory.high",
                "1073741824\n",
            ),
            ("/sys/fs/cgroup/batch.slice/memory.max", "805306368\n"),
            ("/sys/fs/cgroup/memory.max", "max\n"),
        ]);
        let c = ceiling_with(&read).unwrap();
        assert_eq!(c.bytes, 768 << 20);
        assert_eq!(c.file, Path::new("/sys/fs/cgroup/batch.slice/memory.max"));
    }

    #[test]
    fn a_v1_memory_hierarchy_is_read_and_its_unlimited_value_ignored() {
        // cgroup v1 (this project's build machine): the memory controller has its own mount;
        // the root's limit is v1's page-rounded i64::MAX, which means none.
        let mounts = "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
                      32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n";
        let cgroups = "5:devices:/\n4:memory:/jobs/nightly\n1:cpu:/\n0::/\n";
        let mut files = vec![
            ("/proc/self/cgroup", cgroups),
            ("/proc/self/mountinfo", mounts),
            (
                "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                "9223372036854771712\n",
            ),
            (
                "/sys/fs/cgroup/memory/jobs/memory.limit_in_bytes",
                "9223372036854771712\n",
            ),
        ];
        assert_eq!(ceiling_with(&fs(&files)), None);
        files.push((
            "/sys/fs/cgroup/memory/jobs/nightly/memory.limit_in_bytes",
            "268435456\n",
        ));
        assert_eq!(
            ceiling_with(&fs(&files)),
            Some(Ceiling {
                bytes: 256 << 20,
                file: "/sys/fs/cgroup/memory/jobs/nightly/memory.limit_in_bytes".into()
            })
        );
    }

    #[test]
    fn a_mount_rooted_at_the_container_cgroup_strips_that_root() {
        // No cgroup namespace: the process sees the host path, the mount is rooted at it.
        let mounts = "40 30 0:26 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n";
        let read = fs(&[
            ("/proc/self/cgroup", "0::/docker/abc\n"),
            ("/proc/self/mountinfo", mounts),
            ("/sys/fs/cgroup/memory.max", "1073741824\n"),
        ]);
        assert_eq!(ceiling_with(&read).unwrap().bytes, 1 << 30);
    }

    #[test]
    fn no_cgroup_files_no_ceiling() {
        assert_eq!(ceiling_with(&fs(&[])), None);
        let read = fs(&[
            ("/proc/self/cgroup", "0::/\n"),
            ("/proc/self/mountinfo", V2_MOUNT),
            ("/sys/fs/cgroup/memory.max", "max\n"),
        ]);
        assert_eq!(ceiling_with(&read), None);
    }

    fn ceiling(mib: u64) -> Option<Ceiling> {
        Some(Ceiling {
            bytes: mib << 20,
            file: "/sys/fs/cgroup/memory.max".into(),
        })
    }

    #[test]
    fn the_default_is_512m_or_half_a_smaller_container() {
        assert_eq!(
            resolve(None, None),
            (DEFAULT_BYTES, LimitFrom::Default, None)
        );
        // A roomy container changes nothing.
        assert_eq!(resolve(None, ceiling(4096)).0, DEFAULT_BYTES);
        assert_eq!(resolve(None, ceiling(1024)).1, LimitFrom::Default);
        let (bytes, from, warning) = resolve(None, ceiling(400));
        assert_eq!(bytes, 200 << 20);
        assert_eq!(
            from.to_string(),
            "half of the container's memory limit (400 MiB, /sys/fs/cgroup/memory.max)"
        );
        assert_eq!(warning, None);
        // Never below what the flag accepts, and a container that small is warned about.
        let (bytes, _, warning) = resolve(None, ceiling(64));
        assert_eq!(bytes, 32 << 20);
        assert!(warning
            .unwrap()
            .contains("give the container at least 128 MiB"));
        assert_eq!(resolve(None, ceiling(20)).0, MIN_BYTES);
    }

    #[test]
    fn a_given_limit_is_kept_and_warned_about_when_the_container_is_too_small() {
        assert_eq!(
            resolve(Some(1 << 30), None),
            (1 << 30, LimitFrom::Flag, None)
        );
        assert_eq!(resolve(Some(256 << 20), ceiling(400)).2, None);
        let (bytes, from, warning) = resolve(Some(512 << 20), ceiling(400));
        assert_eq!((bytes, from), (512 << 20, LimitFrom::Flag));
        let w = warning.unwrap();
        assert!(w.contains("--memory-limit 512 MiB"), "{w}");
        assert!(
            w.contains("400 MiB memory limit (/sys/fs/cgroup/memory.max)"),
            "{w}"
        );
        assert!(w.contains("the kernel may kill the run"), "{w}");
        assert!(w.contains("(200 MiB)"), "{w}");
    }
}
