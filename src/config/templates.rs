//! The default config files, compiled into the binary from `config/` and copied into a conf dir.

use std::path::Path;

use include_dir::{Dir, DirEntry, include_dir};

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/config");

/// Copies every template that the conf dir lacks; files already there are the user's and stay untouched.
/// Returns the relative paths it wrote.
pub fn install_templates(conf_dir: &Path) -> std::io::Result<Vec<String>> {
    let mut written = Vec::new();
    copy_missing(&TEMPLATES, conf_dir, &mut written)?;
    Ok(written)
}

fn copy_missing(dir: &Dir<'_>, conf_dir: &Path, written: &mut Vec<String>) -> std::io::Result<()> {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(sub) => copy_missing(sub, conf_dir, written)?,
            DirEntry::File(file) => {
                let target = conf_dir.join(file.path());
                if !target.exists() {
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    crate::files::write_atomically(&target, file.contents())?;
                    written.push(file.path().display().to_string());
                }
            }
        }
    }
    Ok(())
}

/// A template's text, by its path in a conf dir (`tokens/ethereum/base.json`).
pub fn template(path: &str) -> Option<&'static str> {
    TEMPLATES.get_file(path).and_then(|file| file.contents_utf8())
}
