//! Files the app keeps at rest (database, session key, backups, exports) are private:
//! directories 0700, files 0600, whatever the umask.

use std::io::Write;
use std::path::Path;

/// Creates `dir` and any missing parents; the directories this creates are 0700.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Opens `path` for reading and writing, creating it 0600 if missing.
pub fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Writes a new file, 0600; fails if it exists.
pub fn write_new_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// A file written beside its final name (`<name>.partial`, new and 0600 from the first byte) and
/// moved there only when complete: a reader never sees half a file under the final name, an
/// existing file is never overwritten, and one abandoned (dropped unfinished) is removed.
#[derive(Debug)]
pub struct Partial {
    path: std::path::PathBuf,
    target: std::path::PathBuf,
    finished: bool,
}

impl Partial {
    /// Creates the partial file for `target`, with its parent directories (0700) if missing.
    pub fn create(target: &Path) -> std::io::Result<(Self, std::fs::File)> {
        if target.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "exists already: name a new file (nothing is overwritten)",
            ));
        }
        if let Some(parent) = target.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            create_private_dir(parent)?;
        }
        let mut path = target.as_os_str().to_owned();
        path.push(".partial");
        let path = std::path::PathBuf::from(path);
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path)?;
        let partial = Self {
            path,
            target: target.to_path_buf(),
            finished: false,
        };
        Ok((partial, file))
    }

    /// Where the content is being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the complete file to its name; fails (and keeps nothing) if that name was taken
    /// meanwhile.
    pub fn finish(mut self) -> std::io::Result<()> {
        std::fs::File::open(&self.path)?.sync_all()?;
        std::fs::hard_link(&self.path, &self.target)?;
        self.finished = true;
        std::fs::remove_file(&self.path)
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// What tells that a file changed without reading it: modification and change times, size and
/// inode (an editor's save-as-rename gives a new inode; a same-size edit a new ctime).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    modified: Option<std::time::SystemTime>,
    len: u64,
    #[cfg(unix)]
    inode: u64,
    #[cfg(unix)]
    changed: (i64, i64),
}

impl FileStamp {
    /// A `stat`: microseconds. `None` when the file cannot be looked at.
    pub fn of(path: &Path) -> Option<Self> {
        let metadata = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Some(Self {
            modified: metadata.modified().ok(),
            len: metadata.len(),
            #[cfg(unix)]
            inode: metadata.ino(),
            #[cfg(unix)]
            changed: (metadata.ctime(), metadata.ctime_nsec()),
        })
    }
}
