//! Reading an audit log that a server in the same test may still be writing.

use std::path::Path;

/// The text of the log at `path` up to and including its last complete line (empty when the
/// file does not exist yet). A line being written can be visible in part (the kernel copies a
/// write into the file a page at a time), so a reader that polls the file leaves out an
/// unterminated last line and sees it whole on a later read.
pub fn complete_lines(path: &Path) -> String {
    let mut text = std::fs::read_to_string(path).unwrap_or_default();
    text.truncate(text.rfind('\n').map_or(0, |end| end + 1));
    text
}
