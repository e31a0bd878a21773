//! The library behind the `guls` program: the dissector of `guls decode` and capture reading.
#![forbid(unsafe_code)]

pub mod capture;
pub mod dissect;
pub mod layers;
