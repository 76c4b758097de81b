//! Files the gateway writes that a crash must not leave half-written: config files and the devnet snapshot.

use std::io::Write;
use std::path::Path;

/// Replaces `path` with `contents` so that a reader (or the next start, after a crash or power loss) sees the
/// old file or the new one, never a mix: written to a temporary file beside it, flushed to disk, renamed over
/// it, and the rename itself flushed. The file keeps its permissions (a config holding node keys may be 0600).
pub fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temporary = tempfile::Builder::new().prefix(".gateway-").suffix(".tmp").tempfile_in(dir)?;
    temporary.write_all(contents)?;
    if let Ok(existing) = std::fs::metadata(path) {
        temporary.as_file().set_permissions(existing.permissions())?;
    }
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|error| error.error)?;
    std::fs::File::open(dir)?.sync_all()
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
}
