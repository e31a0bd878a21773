//! ISO 8327 session SPDU codec (guls)
#![forbid(unsafe_code)]
