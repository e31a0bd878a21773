//! The library behind the `guls` program: the dissector of `guls decode`, capture reading,
//! and the association programs `guls serve`, `guls connect` and `guls demo`.
#![forbid(unsafe_code)]

pub mod capture;
pub mod connect;
pub mod demo;
pub mod dissect;
pub mod layers;
pub mod profile;
pub mod serve;
