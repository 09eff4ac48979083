//! The outcome of the import filter for one route.

use serde::Serialize;

use super::reasons::Reasons;

/// RPKI origin validation state of a route as the route server saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RpkiTag {
    #[default]
    NotChecked,
    Valid,
    NotFound,
    Invalid,
}

impl RpkiTag {
    /// The N of the informational `RS_ASN:1000:N` large community (Euro-IX).
    pub fn community(self) -> u32 {
        match self {
            RpkiTag::Valid => 1,
            RpkiTag::NotFound => 2,
            RpkiTag::NotChecked => 3,
            RpkiTag::Invalid => 4,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            RpkiTag::NotChecked => "not-checked",
            RpkiTag::Valid => "valid",
            RpkiTag::NotFound => "not-found",
            RpkiTag::Invalid => "invalid",
        }
    }
}

/// IRR state of a route as the route server saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IrrTag {
    #[default]
    NotChecked,
    Valid,
    /// Accepted although IRR does not cover it, because RPKI says VALID.
    ValidByRpki,
    Invalid,
}

impl IrrTag {
    /// The N of the informational `RS_ASN:1001:N` large community.
    pub fn community(self) -> u32 {
        match self {
            IrrTag::Valid => 1,
            IrrTag::NotChecked => 2,
            IrrTag::ValidByRpki => 4,
            IrrTag::Invalid => 1001,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            IrrTag::NotChecked => "not-checked",
            IrrTag::Valid => "valid",
            IrrTag::ValidByRpki => "valid-by-rpki",
            IrrTag::Invalid => "invalid",
        }
    }
}

/// What the import filter decided for one route: kept with all its reasons.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Verdict {
    pub reasons: Reasons,
    pub rpki: RpkiTag,
    pub irr: IrrTag,
    /// ASPA path verification state.
    pub aspa: crate::aspa::AspaTag,
    /// RFC 7999 BLACKHOLE request accepted.
    pub blackhole: bool,
    /// RFC 8326 GRACEFUL_SHUTDOWN: least preferred.
    pub gshut: bool,
}

impl Verdict {
    /// True when the route passed every step.
    pub fn accepted(&self) -> bool {
        self.reasons.is_empty()
    }
}
