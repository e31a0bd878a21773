//! The library behind the `guls` program: the dissector of `guls decode`, capture reading,
//! the association programs `guls serve`, `guls connect` and `guls demo`, the responder's
//! policy-and-audit gate ([`guard`]) and the `guls policy` / `guls audit` commands
//! ([`admin`]).
#![forbid(unsafe_code)]

pub mod admin;
pub mod capture;
pub mod certs;
pub mod connect;
pub mod demo;
pub mod dissect;
pub mod exchanges;
pub mod guard;
pub mod layers;
pub mod profile;
pub mod serve;
