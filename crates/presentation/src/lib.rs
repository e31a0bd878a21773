//! ISO 8823 presentation PPDU codec (guls)
#![forbid(unsafe_code)]
