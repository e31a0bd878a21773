//! The process-wide default provider (its own test binary: the default is process state).

use guls_crypto::CryptoProvider;

#[test]
fn install_once_then_get() {
    assert!(CryptoProvider::get_default().is_none());
    guls_crypto::rustcrypto::default_provider()
        .install_default()
        .unwrap();
    assert_eq!(CryptoProvider::get_default().unwrap().name, "rustcrypto");
    let rejected = guls_crypto::ring::default_provider()
        .install_default()
        .unwrap_err();
    assert_eq!(rejected.name, "ring");
    assert_eq!(
        CryptoProvider::get_default_or_install_from_crate_features()
            .unwrap()
            .name,
        "rustcrypto"
    );
    // With both features on, the crate features select ring, the default provider.
    assert_eq!(CryptoProvider::from_crate_features().unwrap().name, "ring");
}
