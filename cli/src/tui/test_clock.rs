//! The window's clock, and the one way a test moves it.
//!
//! The chat window reads the system clock once a second (`App::tick`);
//! what depends on it is the "no moderator active right now" banner, which
//! needs 30 minutes of silence. A test of the real screen cannot wait that
//! long, so in **debug builds only** (the builds `cargo test` makes) the
//! window adds to the system clock the number of milliseconds written in
//! the file named by `HEARTH_TEST_CLOCK_FILE`, read at every tick: the
//! test writes a larger number to move the window forward. Release builds
//! compile the variable out and read the system clock alone. Only the
//! window's clock moves: the node, and what it signs and judges, keeps
//! the system's.

/// The environment variable naming the offset file (debug builds only).
#[cfg(debug_assertions)]
const CLOCK_FILE_VAR: &str = "HEARTH_TEST_CLOCK_FILE";

/// The window's time now, in ms since the Unix epoch.
pub(super) fn window_now_ms() -> u64 {
    crate::time::now_ms().saturating_add(offset_ms())
}

/// The offset a test wrote, or 0.
#[cfg(debug_assertions)]
fn offset_ms() -> u64 {
    std::env::var_os(CLOCK_FILE_VAR).map_or(0, |path| offset_in(std::path::Path::new(&path)))
}

/// The number of ms written in `file`, or 0: no file, or not a number.
#[cfg(debug_assertions)]
fn offset_in(file: &std::path::Path) -> u64 {
    use std::io::Read as _;
    let mut text = String::new();
    let read = std::fs::File::open(file).and_then(|file| file.take(32).read_to_string(&mut text));
    match read {
        Ok(_) => text.trim().parse().unwrap_or(0),
        Err(_) => 0,
    }
}

/// Release builds have no test clock.
#[cfg(not(debug_assertions))]
fn offset_ms() -> u64 {
    0
}

#[cfg(all(test, debug_assertions))]
mod tests {
    use super::*;

    #[test]
    fn the_offset_comes_from_the_file_and_junk_is_no_offset() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("clock");
        assert_eq!(offset_in(&file), 0, "no file yet");
        std::fs::write(&file, "1860000\n").unwrap();
        assert_eq!(offset_in(&file), 1_860_000);
        std::fs::write(&file, "soon").unwrap();
        assert_eq!(offset_in(&file), 0);
        std::fs::write(&file, "9".repeat(100)).unwrap();
        assert_eq!(offset_in(&file), 0, "too long to be an offset");
    }
}
