//! Writing result files atomically: a temporary file beside the target, renamed into place,
//! so a failure or interrupt never leaves a half-written file.

use polars::prelude::*;
use std::io::Write;
use std::path::Path;

/// Writes `path` atomically with `write`; the error names the file.
pub fn atomic_write(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> Result<(), String>,
) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".skewaudit-")
        .tempfile_in(dir)
        .map_err(|e| {
            format!(
                "{}: cannot create a file in {}: {e}",
                path.display(),
                dir.display()
            )
        })?;
    write(tmp.as_file_mut()).map_err(|e| format!("{}: {e}", path.display()))?;
    tmp.as_file_mut()
        .flush()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| format!("{}: cannot write: {}", path.display(), e.error))?;
    Ok(())
}

/// Writes a frame as Parquet (zstd) or NDJSON, chosen by the extension, atomically.
pub fn write_frame(df: &mut DataFrame, path: &Path) -> Result<(), String> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "parquet" => atomic_write(path, |f| {
            ParquetWriter::new(f)
                .with_compression(ParquetCompression::Zstd(None))
                .finish(df)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }),
        "ndjson" | "jsonl" | "json" => atomic_write(path, |f| {
            JsonWriter::new(f)
                .with_json_format(JsonFormat::JsonLines)
                .finish(df)
                .map_err(|e| e.to_string())
        }),
        _ => Err(format!(
            "{}: unknown output type; use a .parquet or .ndjson file name",
            path.display()
        )),
    }
}

/// Writes to stdout; a closed pipe (`skewaudit ... | head`) ends the process quietly instead
/// of panicking.
pub fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(crate::exit::USAGE);
    }
}
