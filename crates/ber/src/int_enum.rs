//! The shape shared by every INTEGER-valued protocol field with named values.

/// Declares an enum for an INTEGER field with named values, plus `Unknown(i64)` for values a
/// newer peer may send: `from_i64` (only unnamed numbers become `Unknown`, so equal numbers give
/// equal values), `value`/`to_i64` (the number on the wire) and `name` (the ASN.1 name).
///
/// ```
/// guls_ber::int_enum! {
///     /// Example.
///     Colour {
///         /// red (0).
///         Red = 0 => "red",
///     }
/// }
/// assert_eq!(Colour::from_i64(0), Colour::Red);
/// assert_eq!(Colour::from_i64(7).name(), "unknown");
/// ```
#[macro_export]
macro_rules! int_enum {
    (
        $(#[$m:meta])*
        $name:ident {
            $( $(#[$vm:meta])* $var:ident = $val:literal => $s:literal, )*
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vm])* $var, )*
            /// A value the standard does not name (only values not named above).
            Unknown(i64),
        }

        impl $name {
            /// The typed value of a received integer (`Unknown` for unnamed values).
            pub fn from_i64(v: i64) -> Self {
                match v {
                    $( $val => $name::$var, )*
                    other => $name::Unknown(other),
                }
            }

            /// The integer sent on the wire.
            pub fn value(self) -> i64 {
                match self {
                    $( $name::$var => $val, )*
                    $name::Unknown(v) => v,
                }
            }

            /// The integer sent on the wire (the same as [`Self::value`]).
            pub fn to_i64(self) -> i64 {
                self.value()
            }

            /// The ASN.1 name of the value (`"unknown"` for unnamed values).
            pub fn name(self) -> &'static str {
                match self {
                    $( $name::$var => $s, )*
                    $name::Unknown(_) => "unknown",
                }
            }
        }
    };
}
