//! MAC -> member lookup built from the exchange file (`members[].connections[].macs`).

use std::collections::HashMap;

use fox_config::Config;

/// Index of a member in [`MemberMap::members`].
pub type MemberId = usize;
/// Index of a site in [`MemberMap::sites`].
pub type SiteId = usize;

/// A member as the collector needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    /// Member name (unique).
    pub name: String,
    /// Member ASN (unique).
    pub asn: u32,
}

/// Who owns a MAC: the member, the connection and its site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MacOwner {
    /// The member.
    pub member: MemberId,
    /// Index of the connection in the member's `connections`.
    pub connection: usize,
    /// Site of that connection.
    pub site: SiteId,
}

/// Members, sites and the MAC table.
#[derive(Clone, Debug, Default)]
pub struct MemberMap {
    members: Vec<MemberInfo>,
    sites: Vec<String>,
    macs: HashMap<[u8; 6], MacOwner>,
}

impl MemberMap {
    /// Builds the table from the exchange configuration (MACs are unique there).
    pub fn from_config(cfg: &Config) -> Self {
        let sites: Vec<String> = cfg.sites.iter().map(|s| s.id.clone()).collect();
        let mut map = MemberMap {
            members: Vec::with_capacity(cfg.members.len()),
            sites,
            macs: HashMap::new(),
        };
        for (m, member) in cfg.members.iter().enumerate() {
            map.members.push(MemberInfo {
                name: member.name.clone(),
                asn: member.asn,
            });
            for (c, conn) in member.connections.iter().enumerate() {
                let site = map.site_id(&conn.site);
                for mac in &conn.macs {
                    map.macs.insert(
                        mac.0,
                        MacOwner {
                            member: m,
                            connection: c,
                            site,
                        },
                    );
                }
            }
        }
        map
    }

    /// The id of a site, adding it if unknown (configs are checked, so only tests do that).
    fn site_id(&mut self, site: &str) -> SiteId {
        match self.sites.iter().position(|s| s == site) {
            Some(i) => i,
            None => {
                self.sites.push(site.to_owned());
                self.sites.len() - 1
            }
        }
    }

    /// Who owns `mac`.
    pub fn lookup(&self, mac: &[u8; 6]) -> Option<MacOwner> {
        self.macs.get(mac).copied()
    }

    /// Members in file order; a [`MemberId`] indexes this.
    pub fn members(&self) -> &[MemberInfo] {
        &self.members
    }

    /// Site ids in file order; a [`SiteId`] indexes this.
    pub fn sites(&self) -> &[String] {
        &self.sites
    }

    /// The member with this name.
    pub fn find(&self, name: &str) -> Option<MemberId> {
        self.members.iter().position(|m| m.name == name)
    }

    /// Number of registered MACs.
    pub fn mac_count(&self) -> usize {
        self.macs.len()
    }
}

/// Formats a MAC as `02:00:00:00:06:59`.
pub fn mac_string(mac: &[u8; 6]) -> String {
    fox_config::MacAddr(*mac).to_string()
}
