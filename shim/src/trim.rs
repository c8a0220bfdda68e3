//! Keeping the host's compilation cache within a size: wasmtime trims its
//! cache in a worker thread that the short-lived background compiles
//! hardly give time to run, so without this the folder only grows.
//!
//! After each background compile (one at a time on the host), the files
//! least recently used go until the folder is within its limit:
//! `WASOCK_SHIM_CACHE_MAX` in containerd's environment (a size such as
//! `512M`), by default [`DEFAULT_MAX`]. A container that finds its
//! component gone compiles it itself, and the next background compile puts
//! it back.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The cache's size limit when `WASOCK_SHIM_CACHE_MAX` does not set one.
pub const DEFAULT_MAX: u64 = 1 << 30;

/// The limit containerd's environment sets, or [`DEFAULT_MAX`] (also when
/// the variable is not a size, which `wasock`'s size syntax would take).
pub fn max_from_env() -> u64 {
    std::env::var("WASOCK_SHIM_CACHE_MAX")
        .ok()
        .and_then(|v| wasock_host::cli::parse_size(&v).ok())
        .unwrap_or(DEFAULT_MAX)
}

/// Remove the least recently used files under `dir` (by the later of their
/// access and modification times) until the regular files there hold at
/// most `max` bytes; the bytes removed. Files that vanish meanwhile are
/// skipped; symbolic links are neither followed nor counted.
pub fn trim(dir: &Path, max: u64) -> u64 {
    let mut files = Vec::new();
    collect(dir, &mut files);
    let mut total: u64 = files.iter().map(|f| f.size).sum();
    if total <= max {
        return 0;
    }
    files.sort_by_key(|f| f.used);
    let mut removed = 0;
    for f in files {
        if total <= max {
            break;
        }
        if std::fs::remove_file(&f.path).is_ok() {
            total -= f.size;
            removed += f.size;
        }
    }
    removed
}

struct CachedFile {
    path: PathBuf,
    size: u64,
    used: SystemTime,
}

fn collect(dir: &Path, out: &mut Vec<CachedFile>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        // symlink_metadata: a link is neither followed nor counted.
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        if meta.is_dir() {
            collect(&entry.path(), out);
        } else if meta.is_file() {
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            let accessed = meta.accessed().unwrap_or(modified);
            out.push(CachedFile {
                path: entry.path(),
                size: meta.len(),
                used: modified.max(accessed),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{File, FileTimes};
    use std::time::Duration;

    fn file(path: &Path, size: usize, age_s: u64) {
        std::fs::write(path, vec![0u8; size]).unwrap();
        let at = SystemTime::now() - Duration::from_secs(age_s);
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_times(FileTimes::new().set_accessed(at).set_modified(at))
            .unwrap();
    }

    #[test]
    fn the_least_recently_used_files_go_until_the_folder_fits() {
        let dir = std::env::temp_dir().join(format!("wasock-trim-{}", std::process::id()));
        let sub = dir.join("modules/x");
        std::fs::create_dir_all(&sub).unwrap();
        file(&sub.join("old"), 400, 3000);
        file(&dir.join("middle"), 400, 2000);
        file(&sub.join("new"), 400, 10);
        std::os::unix::fs::symlink("/etc/hostname", dir.join("link")).unwrap();
        // Within the limit: nothing goes.
        assert_eq!(trim(&dir, 1200), 0);
        // Over it by one file's size: only the oldest goes.
        assert_eq!(trim(&dir, 800), 400);
        assert!(!sub.join("old").exists());
        assert!(dir.join("middle").exists() && sub.join("new").exists());
        // Far over: everything but what fits, newest kept; the link and
        // its target untouched.
        assert_eq!(trim(&dir, 500), 400);
        assert!(!dir.join("middle").exists() && sub.join("new").exists());
        assert!(dir.join("link").symlink_metadata().is_ok());
        assert!(Path::new("/etc/hostname").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
