//! What the report needs to know about the exchange, and what each probe measures.

use crate::model::PathKind;

/// A member as the report names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutMember {
    /// Name.
    pub name: String,
    /// ASN.
    pub asn: u32,
    /// Sites of its connections.
    pub sites: Vec<String>,
}

/// Sites and members of the exchange.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// Exchange name.
    pub exchange: String,
    /// (id, name) of each site.
    pub sites: Vec<(String, String)>,
    /// Members in configuration order.
    pub members: Vec<LayoutMember>,
}

impl Layout {
    /// From the exchange's YAML file.
    pub fn from_config(cfg: &fox_config::Config) -> Layout {
        Layout {
            exchange: cfg.exchange.name.clone(),
            sites: cfg
                .sites
                .iter()
                .map(|s| (s.id.clone(), s.name.clone()))
                .collect(),
            members: cfg
                .members
                .iter()
                .map(|m| {
                    let mut sites: Vec<String> =
                        m.connections.iter().map(|c| c.site.clone()).collect();
                    sites.dedup();
                    LayoutMember {
                        name: m.name.clone(),
                        asn: m.asn,
                        sites,
                    }
                })
                .collect(),
        }
    }

    /// Name of `asn` (`AS<n>` when not a member).
    pub fn name_of(&self, asn: u32) -> String {
        self.members
            .iter()
            .find(|m| m.asn == asn)
            .map_or_else(|| format!("AS{asn}"), |m| m.name.clone())
    }

    fn is_site(&self, id: &str) -> bool {
        self.sites.iter().any(|(s, _)| s == id)
    }

    /// What probe `name` measures: `<site>-<site>` or `<site>-<member>` (split at any `-`).
    pub fn path_of(&self, name: &str) -> PathKind {
        for (i, _) in name.match_indices('-') {
            let (a, b) = (&name[..i], &name[i + 1..]);
            if !self.is_site(a) {
                continue;
            }
            if self.is_site(b) {
                return PathKind::SitePair {
                    from: a.to_owned(),
                    to: b.to_owned(),
                };
            }
            if self.members.iter().any(|m| m.name == b) {
                return PathKind::Member {
                    from: a.to_owned(),
                    member: b.to_owned(),
                };
            }
        }
        PathKind::Other
    }
}
