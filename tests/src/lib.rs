//! Shared helpers for the guls end-to-end and oracle tests.
#![forbid(unsafe_code)]

pub mod peers;
pub mod tshark;
pub mod vectors;
