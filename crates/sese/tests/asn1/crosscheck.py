"""Independent check of guls-sese's SESE APDU encoder with asn1tools.

Used by tests/asn1tools_crosscheck.rs. Compiles the reduced SeseAPDUs module beside this file
(see README.md for the simplifications) and, for every named case below:
  * encodes the case's value with asn1tools, BER and DER;
  * decodes guls-sese's bytes for the case (read from stdin, one "name hex" per line) with
    asn1tools and re-encodes them in DER.
Prints one line per case: "case NAME DER_HEX BER_HEX REENCODED_HEX" (REENCODED_HEX is
"ERROR:..." when asn1tools cannot decode ours), then "extra NAME HEX" lines with encodings that
use forms guls-sese must accept but never sends. Exit status 0 unless compilation fails.
"""
import os
import sys

import asn1tools

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = [os.path.join(HERE, "SeseAPDUs-reduced.asn1"), os.path.join(HERE, "CrossCheckOpenTypes.asn1")]

ARC = "2.25.36238538382872986225690784931241271656"
ALICE = ("credentials", ("simple", {
    "name": [[{"type": "2.5.4.3", "value": "alice"}]],
    "password": ("unprotected", b"pw"),
}))
BOB = ("credentials", ("simple", {"name": [[{"type": "2.5.4.3", "value": "bob"}]]}))
TWO_WAY = ("global", "2.20.4.2")

CASES = {
    # GULS-WIRE-NOTES 3.2 worked examples, LL filled in.
    "twoway-item1": ("se-transfer", {"seIdentifier": TWO_WAY, "itemIdentifier": 1,
                                     "seItem": ALICE, "startFlag": True}),
    "twoway-item2": ("se-transfer", {"seIdentifier": TWO_WAY, "itemIdentifier": 2,
                                     "seItem": BOB, "endFlag": True}),
    "twoway-reject": ("se-u-abort", {"itemIdentifier": 1, "errors": [
        {"errorCode": ("local", 1), "errorParameter": ("integer", 2)}]}),
    "p-abort-unrecognized-se": ("se-p-abort", {"problemCode": ("transfer", "unrecognizedSecurityExchange")}),
    # Further shapes.
    "transfer-local-invocation": ("se-transfer", {
        "seIdentifier": ("local", 5), "itemIdentifier": 3, "seItem": ("integer", 0),
        "invocationId": ("present", 7), "startFlag": True, "endFlag": True}),
    "transfer-negotiation": ("se-transfer", {
        "seIdentifier": ("global", "2.20.4.3"), "itemIdentifier": 1,
        "seItem": ("negotiation", ["2.20.4.2", ARC + ".2.1"]),
        "invocationId": ("present", 128), "startFlag": True}),
    "transfer-arc-identifier": ("se-transfer", {
        "seIdentifier": ("global", ARC + ".9.1"), "itemIdentifier": 300,
        "seItem": ("octets", b"\x00" * 130), "invocationId": ("present", -129)}),
    "u-abort-empty": ("se-u-abort", {}),
    "u-abort-empty-errors": ("se-u-abort", {"invocationId": ("present", 300), "errors": [{}]}),
    "u-abort-two-errors": ("se-u-abort", {"invocationId": ("present", 0), "itemIdentifier": 3,
                                          "errors": [{"errorCode": ("global", ARC + ".5")},
                                                     {"errorParameter": ("octets", b"x")}]}),
    "p-abort-full": ("se-p-abort", {"invocationId": ("present", -1), "itemIdentifier": 2,
                                    "problemCode": ("abort", "mistypedErrorParameter")}),
    "p-abort-absent-id": ("se-p-abort", {"invocationId": ("absent", None),
                                         "problemCode": ("general", "invalidAPDU")}),
}
PROBLEMS = [("general", "invalidAPDU"),
            ("transfer", "duplicateInvocationId"), ("transfer", "unrecognizedSecurityExchange"),
            ("transfer", "mistypedItem"), ("transfer", "inappropriateInvocationId"),
            ("transfer", "alternatingSequenceError"),
            ("abort", "unrecognizedInvocationId"), ("abort", "abortUnexpected"),
            ("abort", "unrecognizedError"), ("abort", "unexpectedError"),
            ("abort", "mistypedErrorParameter")]
for i, p in enumerate(PROBLEMS):
    CASES["problem-%d" % i] = ("se-p-abort", {"invocationId": ("present", 1), "problemCode": p})

# Forms a receiver must accept: the DEFAULT invocationId written explicitly (asn1tools writes
# a CHOICE-typed DEFAULT value when it is given, even in DER; it omits BOOLEAN DEFAULTs).
EXTRAS = {
    "extra-explicit-defaults": ("se-transfer", {
        "seIdentifier": TWO_WAY, "itemIdentifier": 1, "seItem": ("integer", 1),
        "invocationId": ("absent", None), "startFlag": False, "endFlag": False}),
    "extra-u-abort-explicit-absent": ("se-u-abort", {"invocationId": ("absent", None)}),
}


def strip_defaults(value):
    """asn1tools' decoder fills in the DEFAULT noInvocationId as the bare string "absent", which
    its encoder then rejects; drop it (an absent DEFAULT is what DER sends anyway)."""
    kind, fields = value
    if not isinstance(fields.get("invocationId", ()), tuple):
        del fields["invocationId"]
    return kind, fields


def main():
    ber = asn1tools.compile_files(FILES, "ber")
    der = asn1tools.compile_files(FILES, "der")
    ours = {}
    for line in sys.stdin:
        parts = line.split()
        if len(parts) == 2:
            ours[parts[0]] = bytes.fromhex(parts[1])
    for name, value in CASES.items():
        d = der.encode("SESEapdus", value).hex()
        b = ber.encode("SESEapdus", value).hex()
        if name in ours:
            try:
                again = der.encode("SESEapdus", strip_defaults(ber.decode("SESEapdus", ours[name]))).hex()
            except Exception as e:  # noqa: BLE001 - report any asn1tools failure as data
                again = "ERROR:" + type(e).__name__
        else:
            again = "ERROR:no-input"
        print("case", name, d, b, again)
    for name, value in EXTRAS.items():
        print("extra", name, ber.encode("SESEapdus", value).hex())


if __name__ == "__main__":
    main()
