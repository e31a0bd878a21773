//! Benchmarks for guls (see benches/benches/).
#![forbid(unsafe_code)]
