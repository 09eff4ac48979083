//! The loaded IRR data: as-sets by name, route objects by origin, and
//! as-set expansion.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::PathBuf;

use ipnet::IpNet;

use super::error::{IrrError, IrrWarning};
use super::names::{parse_member, Member, SetRef};
use super::prefix_list::PrefixList;
use super::rpsl::{self, AsSetObject, RpslData};
use crate::wire::Asn;

/// How many as-set levels below the requested one are followed (like bgpq4 `-L`);
/// 32 is far beyond any real hierarchy and stops runaway chains.
pub const MAX_AS_SET_DEPTH: usize = 32;

/// IRR objects from one or more dump files, indexed for expansion.
#[derive(Debug, Default)]
pub struct IrrDb {
    /// Upper-case name -> definitions in load order (one per source).
    as_sets: HashMap<String, Vec<AsSetObject>>,
    routes_by_origin: HashMap<Asn, Vec<IpNet>>,
    aut_nums: HashSet<Asn>,
    route_objects: usize,
}

/// The result of expanding an as-set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// Every AS number reached.
    pub asns: BTreeSet<Asn>,
    /// Names of every as-set expanded, the requested one included.
    pub sets: BTreeSet<String>,
    /// Depth-limit hits and ignored `mbrs-by-ref:` attributes.
    pub warnings: Vec<IrrWarning>,
}

impl IrrDb {
    /// Loads dump files in order; for an as-set defined in several sources,
    /// a name without `SOURCE::` resolves to the one loaded first.
    pub fn load(paths: &[PathBuf]) -> Result<(IrrDb, Vec<IrrWarning>), IrrError> {
        let mut data = RpslData::default();
        let mut warnings = Vec::new();
        for path in paths {
            rpsl::read_file(path, &mut data, &mut warnings)?;
        }
        let db = Self::from_data(data, &mut warnings);
        tracing::info!(
            files = paths.len(),
            route_objects = db.route_objects,
            as_sets = db.as_sets.len(),
            aut_nums = db.aut_nums.len(),
            warnings = warnings.len(),
            "IRR data loaded"
        );
        Ok((db, warnings))
    }

    /// Indexes parsed objects; a second definition of a set in the same source is a warning.
    pub fn from_data(data: RpslData, warnings: &mut Vec<IrrWarning>) -> IrrDb {
        let mut db = IrrDb {
            route_objects: data.routes.len(),
            aut_nums: data.aut_nums.iter().map(|a| a.asn).collect(),
            ..IrrDb::default()
        };
        for route in data.routes {
            db.routes_by_origin
                .entry(route.origin)
                .or_default()
                .push(route.prefix);
        }
        for set in data.as_sets {
            let defs = db.as_sets.entry(set.name.clone()).or_default();
            if let Some(first) = defs.iter().find(|d| d.source == set.source) {
                warnings.push(IrrWarning::Parse {
                    file: set.file.clone(),
                    line: set.line,
                    message: format!(
                        "as-set {} defined again; keeping the one at {}:{}",
                        set.name,
                        first.file.display(),
                        first.line
                    ),
                });
            } else {
                defs.push(set);
            }
        }
        db
    }

    /// Number of route and route6 objects loaded.
    pub fn route_object_count(&self) -> usize {
        self.route_objects
    }

    /// Number of distinct as-set names loaded.
    pub fn as_set_count(&self) -> usize {
        self.as_sets.len()
    }

    /// True if an aut-num object for `asn` was loaded.
    pub fn has_aut_num(&self, asn: Asn) -> bool {
        self.aut_nums.contains(&asn)
    }

    /// The definition a reference resolves to, honouring a `SOURCE::` prefix.
    pub fn as_set(&self, set: &SetRef) -> Option<&AsSetObject> {
        let defs = self.as_sets.get(&set.name)?;
        match &set.source {
            Some(source) => defs.iter().find(|d| d.source.as_ref() == Some(source)),
            None => defs.first(),
        }
    }

    /// The AS numbers in an as-set (or the single AS for `AS<n>`), following nested sets.
    ///
    /// Loops are cut (each set is expanded once). Depth-limit warnings are logged;
    /// use [`IrrDb::expand`] to get them as values.
    pub fn expand_as_set(&self, name: &str) -> Result<BTreeSet<Asn>, IrrError> {
        let expansion = self.expand(name, MAX_AS_SET_DEPTH)?;
        for warning in &expansion.warnings {
            tracing::warn!(as_set = name, %warning, "IRR expansion");
        }
        Ok(expansion.asns)
    }

    /// Expands `name` breadth-first, following at most `max_depth` levels of nested sets.
    ///
    /// Breadth-first order reaches each set at its shallowest depth, so the limit
    /// only cuts chains that are really that deep. A set that is referenced but
    /// not loaded is an error naming it and the set that referenced it.
    pub fn expand(&self, name: &str, max_depth: usize) -> Result<Expansion, IrrError> {
        let top = parse_member(name.trim()).map_err(|reason| IrrError::InvalidName {
            name: name.to_string(),
            reason,
        })?;
        let mut out = Expansion::default();
        let root = match top {
            Member::Asn(asn) => {
                out.asns.insert(asn);
                return Ok(out);
            }
            Member::Set(set) => set,
        };
        let mut queue: VecDeque<(SetRef, usize, Option<String>)> = VecDeque::new();
        let mut seen: HashSet<SetRef> = HashSet::new();
        seen.insert(root.clone());
        queue.push_back((root, 0, None));
        while let Some((set, depth, parent)) = queue.pop_front() {
            let def = self.as_set(&set).ok_or_else(|| IrrError::UnknownAsSet {
                name: set.to_string(),
                referenced_by: parent.clone(),
            })?;
            out.sets.insert(def.name.clone());
            if !def.mbrs_by_ref.is_empty() {
                out.warnings.push(IrrWarning::Expansion {
                    set: def.name.clone(),
                    message: "has mbrs-by-ref; members added by member-of are not included".into(),
                });
            }
            for member in &def.members {
                match member {
                    Member::Asn(asn) => {
                        out.asns.insert(*asn);
                    }
                    Member::Set(child) => {
                        if seen.contains(child) {
                            tracing::debug!(as_set = %def.name, member = %child, "as-set seen already (loop or shared member)");
                            continue;
                        }
                        if depth + 1 > max_depth {
                            out.warnings.push(IrrWarning::Expansion {
                                set: child.to_string(),
                                message: format!(
                                    "nested more than {max_depth} levels below {}; not expanded",
                                    name.trim().to_ascii_uppercase()
                                ),
                            });
                            seen.insert(child.clone());
                            continue;
                        }
                        seen.insert(child.clone());
                        queue.push_back((child.clone(), depth + 1, Some(def.name.clone())));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Every prefix of every route/route6 object whose origin is in `origins`.
    pub fn routes_for_origins<'a, I>(&self, origins: I) -> PrefixList
    where
        I: IntoIterator<Item = &'a Asn>,
    {
        origins
            .into_iter()
            .filter_map(|asn| self.routes_by_origin.get(asn))
            .flatten()
            .copied()
            .collect()
    }
}
