//! Typed ids: the opaque strings of the API, told apart by what they name, so that two ids of
//! different kinds cannot be swapped in one call. The wire and the store still carry strings.

use std::fmt;

/// Defines an id newtype over the opaque string.
macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The opaque string, as stored and sent.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id!(
    /// A professional of the directory (a physician, a secretary, a coordinator).
    ProfessionalId
);
id!(
    /// A cancer center (3C).
    CancerCenterId
);
id!(
    /// An RCP (tumor board).
    RcpId
);
id!(
    /// A secretary group.
    GroupId
);
