//! Files the gateway writes that a crash must not leave half-written: config files and the devnet snapshot.

use std::io::Write;
use std::path::Path;

/// Replaces `path` with `contents` so that a reader (or the next start, after a crash or power loss) sees the
/// old file or the new one, never a mix: written to a temporary file beside it, flushed to disk, renamed over
/// it, and the rename flushed. A symlink is followed (a config mounted from elsewhere stays one file), the file
/// keeps its permissions (a config holding node keys may be 0600), and a read-only file is refused as a plain
/// write would refuse it.
pub fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let target = match std::fs::canonicalize(path) {
        Ok(real) => real,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => path.to_path_buf(),
        Err(error) => return Err(error),
    };
    let existing = std::fs::metadata(&target).ok();
    if existing.as_ref().is_some_and(|metadata| metadata.permissions().readonly()) {
        return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, "the file is read-only"));
    }
    let dir = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temporary = tempfile::Builder::new().prefix(".gateway-").suffix(".tmp").tempfile_in(dir)?;
    temporary.write_all(contents)?;
    if let Some(metadata) = existing {
        temporary.as_file().set_permissions(metadata.permissions())?;
    }
    temporary.as_file().sync_all()?;
    temporary.persist(&target).map_err(|error| error.error)?;
    // The new file is in place; flushing the rename is for power loss, and a folder that cannot be opened for
    // it (some file systems) does not undo the write.
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_whole_and_keeps_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.yml");
        std::fs::write(&path, "port: 1\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        super::write_atomically(&path, b"port: 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "port: 2\n");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
        assert_eq!(left, ["server.yml"], "no temporary file is left behind");
        super::write_atomically(&dir.path().join("new.yml"), b"a: 1\n").unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("new.yml")).unwrap(), "a: 1\n");
    }

    #[test]
    fn a_symlink_stays_a_link_to_the_file_written_and_a_read_only_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("mounted.yml");
        let link = dir.path().join("server.yml");
        std::fs::write(&real, "port: 1\n").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        super::write_atomically(&link, b"port: 2\n").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "port: 2\n");

        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o444)).unwrap();
        let refused = super::write_atomically(&link, b"port: 3\n").unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied);
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "port: 2\n");
    }
}
