//! Helpers shared by the transport's integration tests.

use guls_transport::*;

/// A test header: octet 0 is the head length, octets 1..5 the declared total (big-endian).
pub fn test_splitter(first: &[u8]) -> Option<HeadSplit> {
    let head_len = usize::from(*first.first()?);
    let total = first.get(1..5)?;
    Some(HeadSplit {
        head_len,
        total_len: u32::from_be_bytes(total.try_into().ok()?) as usize,
    })
}

/// A connected initiator/responder pair; the responder (second) has [`test_splitter`]
/// installed.
pub fn pair(size: TpduSize, max_tsdu: usize) -> (TransportConnection, TransportConnection) {
    let cfg = TransportConfig {
        max_tpdu_size: size,
        max_tsdu_size: max_tsdu,
        ..TransportConfig::default()
    };
    let mut a = TransportConnection::initiator(cfg.clone());
    let mut b = TransportConnection::responder(cfg);
    b.on_bytes(&a.connect().unwrap()).unwrap();
    a.on_bytes(&b.accept().unwrap()).unwrap();
    b.set_head_splitter(test_splitter);
    (a, b)
}
