//! RFC 1006 TPKT and ISO 8073 class 0 transport codec (guls)
#![forbid(unsafe_code)]
