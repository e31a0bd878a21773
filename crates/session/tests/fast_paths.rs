//! The zero-copy paths agree with the copying ones: [`SessionMachine::data_prefix`] followed
//! by the User Information is what [`SessionMachine::send_data`] gives, and when
//! [`SessionMachine::data_user_information_offset`] accepts a TSDU, [`SessionMachine::on_tsdu`]
//! gives exactly one data event with the octets from there.

use guls_session::*;
use proptest::prelude::*;

fn connected() -> (SessionMachine, SessionMachine) {
    let mut a = SessionMachine::initiator(SessionConfig::default());
    let mut b = SessionMachine::responder(SessionConfig::default());
    let cn = a.connect(vec![1, 2, 3]).unwrap();
    b.on_tsdu(&cn).unwrap();
    let ac = b.accept(vec![4, 5]).unwrap();
    a.on_tsdu(&ac).unwrap();
    assert_eq!(a.state(), SessionState::Connected);
    (a, b)
}

#[test]
fn prefix_needs_the_data_phase() {
    let a = SessionMachine::initiator(SessionConfig::default());
    assert!(a.data_prefix().is_err());
    assert!(a.send_data(b"x").is_err());
    assert_eq!(a.data_user_information_offset(&[1, 0, 1, 0, 9]), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn prefix_is_byte_identical(len in 0usize..200_000, seed: u8) {
        let (a, _) = connected();
        let ui: Vec<u8> = (0..len).map(|i| (i as u8) ^ seed).collect();
        let mut fast = a.data_prefix().unwrap().to_vec();
        fast.extend_from_slice(&ui);
        prop_assert_eq!(fast, a.send_data(&ui).unwrap());
    }

    #[test]
    fn offset_agrees_with_on_tsdu(head in prop::collection::vec(0u8..4, 0..6), tail in prop::collection::vec(any::<u8>(), 0..64)) {
        let (_, mut b) = connected();
        let mut tsdu = head;
        tsdu.extend(tail);
        if let Some(at) = b.data_user_information_offset(&tsdu) {
            let ev = b.on_tsdu(&tsdu).unwrap();
            prop_assert_eq!(ev.len(), 1);
            match &ev[0] {
                SessionEvent::Data(ui) => prop_assert_eq!(&ui[..], &tsdu[at..]),
                other => prop_assert!(false, "{:?}", other),
            }
            prop_assert_eq!(b.state(), SessionState::Connected);
        }
    }
}
