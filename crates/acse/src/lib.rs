//! ISO 8650 ACSE APDU codec with the authentication functional unit (guls)
#![forbid(unsafe_code)]
