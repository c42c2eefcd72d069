//! The `local` store: `object_store`'s `LocalFileSystem` for reads, listing and deletes, and
//! its own writes with `O_DIRECT` on Linux.
//!
//! A buffered write copies every byte into the page cache, and on the virtual machines this
//! project runs on that copy costs the kernel about 2.7 CPU-seconds per GB, most of a
//! produce's cost. An `O_DIRECT` write hands the device the process's buffer instead: the
//! agent builds each object starting on a block boundary, so only its last partial block is
//! copied (into a block-aligned buffer); other data is copied whole. Objects are written, as
//! `object_store` writes them, to a staging file named `<key>#d<n>` (which listings skip)
//! and linked or renamed into place, so a reader never sees a partial object and
//! `PutMode::Create` is atomic. A file system that refuses `O_DIRECT` (tmpfs, some overlay
//! file systems) gets buffered writes, with one warning.
//!
//! With `fsync` (the default) the data is flushed (`fdatasync`) before the file is linked
//! into place, and the directory after, so a put that returned survives a power loss: the
//! agent acknowledges records only after their object's put and commit.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use streamhouse_core::object::ObjectResult;
use streamhouse_core::{ObjectKey, ObjectMeta, ObjectStore, ObjectStoreError, PutMode};
use streamhouse_object_adapter::ObjectStoreAdapter;

/// The alignment `O_DIRECT` needs of buffers, offsets and lengths: the largest logical block
/// size in use.
const ALIGN: usize = 4096;
/// Aligned buffers kept for reuse (a new one costs a page fault per 4 KiB), and the largest
/// kept.
const POOLED_BUFFERS: usize = 4;
const MAX_POOLED_BYTES: usize = 32 << 20;

/// A directory of objects.
#[derive(Debug)]
pub struct LocalStore {
    root: PathBuf,
    inner: ObjectStoreAdapter,
    direct: AtomicBool,
    fsync: bool,
    buffers: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl LocalStore {
    /// The store rooted at `root` over `inner`; `direct` asks for `O_DIRECT` writes, `fsync`
    /// for durable ones.
    pub fn new(root: &Path, inner: ObjectStoreAdapter, direct: bool, fsync: bool) -> Self {
        Self {
            root: root.to_owned(),
            inner,
            direct: AtomicBool::new(direct && cfg!(target_os = "linux")),
            fsync,
            buffers: Arc::default(),
        }
    }
}

impl LocalStore {
    /// Whether writes are direct (false once the file system refused `O_DIRECT`).
    pub fn is_direct(&self) -> bool {
        self.direct.load(Ordering::Relaxed)
    }
}

/// Why a direct write did not happen.
enum DirectError {
    /// The file system refuses `O_DIRECT`: write buffered instead.
    Unsupported(std::io::Error),
    /// The write failed.
    Failed(ObjectStoreError),
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn put(&self, key: &ObjectKey, data: Bytes, mode: PutMode) -> ObjectResult<()> {
        let direct = self.direct.load(Ordering::Relaxed);
        if !direct && !self.fsync {
            return self.inner.put(key, data, mode).await;
        }
        let written = self.write(key, data.clone(), mode, direct).await?;
        match written {
            Ok(()) => Ok(()),
            Err(DirectError::Failed(e)) => Err(e),
            Err(DirectError::Unsupported(e)) => {
                if self.direct.swap(false, Ordering::Relaxed) {
                    tracing::warn!(
                        root = %self.root.display(),
                        "the file system refuses O_DIRECT writes ({e}); writing through the page \
                         cache, which costs more CPU"
                    );
                }
                match self.fsync {
                    true => match self.write(key, data, mode, false).await? {
                        Ok(()) => Ok(()),
                        Err(DirectError::Failed(e)) => Err(e),
                        Err(DirectError::Unsupported(e)) => {
                            Err(ObjectStoreError::unavailable_from("buffered write", e))
                        }
                    },
                    false => self.inner.put(key, data, mode).await,
                }
            }
        }
    }
    async fn get(&self, key: &ObjectKey) -> ObjectResult<Bytes> {
        self.inner.get(key).await
    }

    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> ObjectResult<Bytes> {
        self.inner.get_range(key, range).await
    }

    async fn head(&self, key: &ObjectKey) -> ObjectResult<ObjectMeta> {
        self.inner.head(key).await
    }

    async fn delete(&self, key: &ObjectKey) -> ObjectResult<()> {
        self.inner.delete(key).await
    }

    async fn list(&self, prefix: Option<&str>) -> ObjectResult<Vec<ObjectMeta>> {
        self.inner.list(prefix).await
    }
}

impl LocalStore {
    /// Writes an object on a blocking thread: directly (`O_DIRECT`) or buffered, durably
    /// when the store fsyncs.
    async fn write(
        &self,
        key: &ObjectKey,
        data: Bytes,
        mode: PutMode,
        direct: bool,
    ) -> ObjectResult<Result<(), DirectError>> {
        let path = self.root.join(key.as_str());
        let (buffers, fsync) = (self.buffers.clone(), self.fsync);
        tokio::task::spawn_blocking(move || {
            write_file(&path, &data, mode, &buffers, WriteMode { direct, fsync })
        })
        .await
        .map_err(|e| ObjectStoreError::other(format!("the write of an object panicked: {e}")))
    }
}

/// How a file is written.
#[derive(Debug, Clone, Copy)]
struct WriteMode {
    /// With `O_DIRECT`.
    direct: bool,
    /// Flushed to the disk, with its directory entry, before it counts as written.
    fsync: bool,
}

fn failed(what: &str, path: &Path, e: std::io::Error) -> DirectError {
    DirectError::Failed(ObjectStoreError::unavailable_from(
        format!("{what} {}", path.display()),
        e,
    ))
}

/// Writes `data` to a staging file (with `O_DIRECT` when `how.direct`), flushes it when
/// `how.fsync`, then moves it to `path` (and flushes the directory entry).
fn write_file(
    path: &Path,
    data: &[u8],
    mode: PutMode,
    buffers: &Mutex<Vec<Vec<u8>>>,
    how: WriteMode,
) -> Result<(), DirectError> {
    let (mut file, staging) = staging_file(path, how)?;
    let written = match how.direct {
        true => write_aligned(&mut file, data, buffers),
        false => file.write_all(data),
    }
    .and_then(|()| file.set_len(data.len() as u64))
    .and_then(|()| if how.fsync { file.sync_data() } else { Ok(()) });
    drop(file);
    let placed = match written {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Err(DirectError::Unsupported(e)),
        Err(e) => Err(failed("cannot write", &staging, e)),
        Ok(()) => match mode {
            PutMode::Overwrite => {
                std::fs::rename(&staging, path).map_err(|e| failed("cannot rename to", path, e))
            }
            PutMode::Create => match std::fs::hard_link(&staging, path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(DirectError::Failed(
                    ObjectStoreError::AlreadyExists(path.display().to_string()),
                )),
                Err(e) => Err(failed("cannot link", path, e)),
            },
        },
    };
    // After a rename there is nothing left to remove; otherwise the staging file goes.
    let _ = std::fs::remove_file(&staging);
    placed?;
    if how.fsync {
        sync_dir(path.parent().unwrap_or(Path::new(".")))?;
    }
    Ok(())
}

/// Flushes a directory's entries (a new name in it) to the disk.
fn sync_dir(dir: &Path) -> Result<(), DirectError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| failed("cannot sync directory", dir, e))
}

/// Creates `<path>#d<n>` for writing (with `O_DIRECT` when `how.direct`), and the
/// directories above it (flushing their new entries when `how.fsync`).
fn staging_file(path: &Path, how: WriteMode) -> Result<(File, PathBuf), DirectError> {
    let mut n = 1u32;
    loop {
        let mut staging = path.as_os_str().to_owned();
        staging.push(format!("#d{n}"));
        let staging = PathBuf::from(staging);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(target_os = "linux")]
        if how.direct {
            std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_DIRECT);
        }
        match options.open(&staging) {
            Ok(f) => return Ok((f, staging)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => n += 1,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let parent = staging.parent().unwrap_or(Path::new("."));
                let missing: Vec<&Path> = parent.ancestors().take_while(|d| !d.exists()).collect();
                std::fs::create_dir_all(parent)
                    .map_err(|e| failed("cannot create directory", parent, e))?;
                if how.fsync {
                    // Each new directory's entry in the directory above it.
                    for dir in missing {
                        sync_dir(dir.parent().unwrap_or(Path::new(".")))?;
                    }
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                return Err(DirectError::Unsupported(e));
            }
            Err(e) => return Err(failed("cannot create", &staging, e)),
        }
    }
}

/// Writes `data` padded to whole blocks. A `data` that starts on a block boundary (the agent
/// builds objects so) is handed to the device as it is, but for its last partial block; any
/// other is copied into a block-aligned buffer first. The file is cut back to `data`'s length
/// afterwards.
fn write_aligned(
    file: &mut File,
    data: &[u8],
    buffers: &Mutex<Vec<Vec<u8>>>,
) -> std::io::Result<()> {
    let (whole, tail) = if data.as_ptr().align_offset(ALIGN) == 0 {
        let whole = data.len() / ALIGN * ALIGN;
        file.write_all(&data[..whole])?;
        (whole, &data[whole..])
    } else {
        (0, data)
    };
    if tail.is_empty() {
        return Ok(());
    }
    let padded = tail.len().div_ceil(ALIGN) * ALIGN;
    let mut buf = buffers
        .lock()
        .expect("poisoned")
        .pop()
        .filter(|b| b.len() >= padded + ALIGN)
        .unwrap_or_else(|| vec![0u8; padded + ALIGN]);
    // Safe code cannot allocate with an alignment; a buffer one block longer always holds an
    // aligned window.
    let at = buf.as_ptr().align_offset(ALIGN);
    let window = &mut buf[at..at + padded];
    window[..tail.len()].copy_from_slice(tail);
    window[tail.len()..].fill(0);
    debug_assert_eq!(whole % ALIGN, 0);
    let result = file.write_all(window);
    let mut pool = buffers.lock().expect("poisoned");
    if pool.len() < POOLED_BUFFERS && buf.len() <= MAX_POOLED_BYTES {
        pool.push(buf);
    }
    result
}
