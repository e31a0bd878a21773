#!/bin/sh
# Regenerates tests/data/keys/: one PKCS #8 PEM test key per key type (OpenSSL `genpkey`),
# its public key in the `subjectPublicKey` form this crate uses, and signatures made by
# OpenSSL over message.txt (RSA PKCS #1 v1.5 is deterministic, so both providers must
# reproduce those byte for byte; the others are verified).
set -eu
cd "$(dirname "$0")/../keys"
printf 'guls-crypto cross-implementation test message\n' > message.txt
openssl genpkey -algorithm ED25519 -out ed25519.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2048.pem
for k in ed25519 p256 p384 rsa2048; do
    # The BIT STRING contents of the SubjectPublicKeyInfo: the last element of the SPKI.
    openssl pkey -in $k.pem -pubout -outform DER -out $k.spki.der
done
openssl pkeyutl -sign -rawin -inkey ed25519.pem -in message.txt -out ed25519.sig
openssl dgst -sha256 -sign p256.pem -out p256_sha256.sig message.txt
openssl dgst -sha384 -sign p384.pem -out p384_sha384.sig message.txt
openssl dgst -sha256 -sign rsa2048.pem -out rsa2048_pkcs1_sha256.sig message.txt
openssl dgst -sha384 -sign rsa2048.pem -out rsa2048_pkcs1_sha384.sig message.txt
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha256 \
    -sign rsa2048.pem -out rsa2048_pss_sha256.sig message.txt
openssl dgst -sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:48 -sigopt rsa_mgf1_md:sha384 \
    -sign rsa2048.pem -out rsa2048_pss_sha384.sig message.txt
