//! The `guls` command-line program.
#![forbid(unsafe_code)]

fn main() {
    println!("guls: not yet");
}
