//! AS-SET expansion: nesting, loops, the depth limit, unknown sets, source
//! prefixes, hierarchical names, and the `fox irr expand` output.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use fox_routeserver::irr::{expand_cli, IrrDb, IrrError, IrrWarning, MAX_AS_SET_DEPTH};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn write_temp(name: &str, text: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path =
        std::env::temp_dir().join(format!("fox-irr-expand-{}-{n}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn load(text: &str) -> IrrDb {
    let path = write_temp("db.txt", text);
    let (db, warnings) = IrrDb::load(std::slice::from_ref(&path)).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(warnings.is_empty(), "{warnings:?}");
    db
}

fn asns(list: &[u32]) -> BTreeSet<u32> {
    list.iter().copied().collect()
}

const NESTED: &str = "\
as-set:   AS-TOP
members:  AS1, AS-MID, AS-SHARED
source:   TEST

as-set:   AS-MID
members:  AS2, AS3, AS-LEAF, AS-SHARED
source:   TEST

as-set:   AS-LEAF
members:  AS4
source:   TEST

as-set:   AS-SHARED
members:  AS3, AS5
source:   TEST

as-set:   AS-EMPTY
source:   TEST
";

#[test]
fn irr_nested_sets_expand_to_all_asns() {
    let db = load(NESTED);
    assert_eq!(db.as_set_count(), 5);
    assert_eq!(db.expand_as_set("AS-TOP").unwrap(), asns(&[1, 2, 3, 4, 5]));
    assert_eq!(db.expand_as_set("as-mid").unwrap(), asns(&[2, 3, 4, 5]));
    assert_eq!(db.expand_as_set("AS-LEAF").unwrap(), asns(&[4]));
    assert!(db.expand_as_set("AS-EMPTY").unwrap().is_empty());
    // A plain ASN expands to itself, as bgpq4 does.
    assert_eq!(db.expand_as_set("AS65000").unwrap(), asns(&[65000]));
    let expansion = db.expand("AS-TOP", MAX_AS_SET_DEPTH).unwrap();
    let sets: Vec<&str> = expansion.sets.iter().map(String::as_str).collect();
    assert_eq!(sets, vec!["AS-LEAF", "AS-MID", "AS-SHARED", "AS-TOP"]);
    assert!(expansion.warnings.is_empty());
}

#[test]
fn irr_loops_terminate() {
    let db = load(
        "\
as-set:   AS-A
members:  AS10, AS-B

as-set:   AS-B
members:  AS20, AS-A

as-set:   AS-SELF
members:  AS30, AS-SELF
",
    );
    assert_eq!(db.expand_as_set("AS-A").unwrap(), asns(&[10, 20]));
    assert_eq!(db.expand_as_set("AS-B").unwrap(), asns(&[10, 20]));
    assert_eq!(db.expand_as_set("AS-SELF").unwrap(), asns(&[30]));
}

fn chain(levels: u32) -> String {
    let mut text = String::new();
    for i in 1..=levels {
        let _ = writeln!(text, "as-set: AS-L{i}");
        if i < levels {
            let _ = writeln!(text, "members: AS{i}, AS-L{}\n", i + 1);
        } else {
            let _ = writeln!(text, "members: AS{i}\n");
        }
    }
    text
}

#[test]
fn irr_depth_limit_stops_and_warns() {
    let db = load(&chain(40));
    let expansion = db.expand("AS-L1", MAX_AS_SET_DEPTH).unwrap();
    // AS-L1 is level 0; levels 1..=32 below it are followed, AS-L34 is not.
    let expected: BTreeSet<u32> = (1..=33).collect();
    assert_eq!(expansion.asns, expected);
    assert_eq!(
        expansion.warnings,
        vec![IrrWarning::Expansion {
            set: "AS-L34".into(),
            message: "nested more than 32 levels below AS-L1; not expanded".into()
        }]
    );
    // A smaller limit cuts earlier; a chain within the limit expands fully.
    let short = db.expand("AS-L1", 3).unwrap();
    assert_eq!(short.asns, asns(&[1, 2, 3, 4]));
    assert_eq!(short.warnings.len(), 1);
    let full = db.expand("AS-L20", MAX_AS_SET_DEPTH).unwrap();
    assert_eq!(full.asns, (20..=40).collect());
    assert!(full.warnings.is_empty());
}

#[test]
fn irr_depth_counts_the_shortest_path() {
    // AS-D is reachable in 3 steps via AS-LONG and in 1 directly; breadth-first
    // expansion must not cut it because of the long path.
    let db = load(
        "\
as-set: AS-ROOT
members: AS-LONG, AS-D

as-set: AS-LONG
members: AS-LONG2

as-set: AS-LONG2
members: AS-D

as-set: AS-D
members: AS7, AS-DEEPER

as-set: AS-DEEPER
members: AS8
",
    );
    let expansion = db.expand("AS-ROOT", 2).unwrap();
    assert_eq!(expansion.asns, asns(&[7, 8]));
    assert!(expansion.warnings.is_empty());
}

#[test]
fn irr_unknown_set_is_an_error_naming_it() {
    let db = load(
        "\
as-set:  AS-KNOWN
members: AS1, AS-MISSING
",
    );
    let err = db.expand_as_set("AS-KNOWN").unwrap_err();
    match &err {
        IrrError::UnknownAsSet {
            name,
            referenced_by,
        } => {
            assert_eq!(name, "AS-MISSING");
            assert_eq!(referenced_by.as_deref(), Some("AS-KNOWN"));
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains("AS-MISSING"));
    assert!(err.to_string().contains("member of AS-KNOWN"));
    let top = db.expand_as_set("AS-NOWHERE").unwrap_err();
    assert!(
        matches!(&top, IrrError::UnknownAsSet { name, referenced_by: None } if name == "AS-NOWHERE")
    );
    let invalid = db.expand_as_set("not a set").unwrap_err();
    assert!(matches!(invalid, IrrError::InvalidName { .. }));
}

#[test]
fn irr_source_prefixes_select_the_registry() {
    let ripe = write_temp(
        "ripe.db",
        "as-set: AS-FOO\nmembers: AS1\nsource: RIPE\n\nas-set: AS-ONLYRIPE\nmembers: AS9\nsource: RIPE\n",
    );
    let radb = write_temp(
        "radb.db",
        "as-set: AS-FOO\nmembers: AS2\nsource: RADB\n\nas-set: AS-USER\nmembers: radb::as-foo, RIPE::AS-ONLYRIPE\nsource: RADB\n\nas-set: AS-WRONG\nmembers: RADB::AS-ONLYRIPE\nsource: RADB\n",
    );
    let (db, warnings) = IrrDb::load(&[ripe.clone(), radb.clone()]).unwrap();
    let _ = std::fs::remove_file(&ripe);
    let _ = std::fs::remove_file(&radb);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(db.expand_as_set("RIPE::AS-FOO").unwrap(), asns(&[1]));
    assert_eq!(db.expand_as_set("radb::as-foo").unwrap(), asns(&[2]));
    // Without a source, the file loaded first wins (bgpq4 -S order).
    assert_eq!(db.expand_as_set("AS-FOO").unwrap(), asns(&[1]));
    assert_eq!(db.expand_as_set("AS-USER").unwrap(), asns(&[2, 9]));
    let err = db.expand_as_set("AS-WRONG").unwrap_err();
    assert!(err.to_string().contains("RADB::AS-ONLYRIPE"), "{err}");
    assert!(db.expand_as_set("ARIN::AS-FOO").is_err());
}

#[test]
fn irr_hierarchical_names_expand() {
    let db = load(
        "\
as-set:  AS1659:AS-CUSTOMERS
members: AS1659, as1659:as-peers

as-set:  AS1659:AS-PEERS
members: AS65001
",
    );
    assert_eq!(
        db.expand_as_set("as1659:as-customers").unwrap(),
        asns(&[1659, 65001])
    );
}

#[test]
fn irr_duplicate_set_in_one_source_is_a_warning() {
    let path = write_temp(
        "dup.db",
        "as-set: AS-DUP\nmembers: AS1\nsource: X\n\nas-set: as-dup\nmembers: AS2\nsource: X\n",
    );
    let (db, warnings) = IrrDb::load(std::slice::from_ref(&path)).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].line(), Some(5));
    assert!(warnings[0].to_string().contains("defined again"));
    assert_eq!(db.expand_as_set("AS-DUP").unwrap(), asns(&[1]));
}

fn example_db() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/irr/fox-example.db")
}

#[test]
fn irr_example_database_expands() {
    let (db, warnings) = IrrDb::load(&[example_db()]).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(db.has_aut_num(64500));
    let expansion = db.expand("AS-FOX-EXAMPLE", MAX_AS_SET_DEPTH).unwrap();
    assert_eq!(
        expansion.asns,
        asns(&[64500, 64501, 64502, 64503, 64504, 64511, 65536])
    );
    // AS-EXAMPLE-EDU carries mbrs-by-ref, which FOX notes but does not follow.
    assert_eq!(expansion.warnings.len(), 1);
    assert!(expansion.warnings[0].to_string().contains("mbrs-by-ref"));
    assert!(!db
        .routes_for_origins(&expansion.asns)
        .contains_exact(&"192.0.2.128/25".parse().unwrap()));
}

#[test]
fn irr_cli_output_lists_asns_and_prefixes() {
    let out = expand_cli("AS64500:AS-CUSTOMERS", &[example_db()], false).unwrap();
    let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines, vec!["AS64500", "AS64501", "AS64502"]);
    assert!(out.starts_with("# AS64500:AS-CUSTOMERS: 3 ASNs from 1 as-sets"));

    let out = expand_cli("AS-FOX-EXAMPLE", &[example_db()], true).unwrap();
    let body: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with("# AS-FOX") && !l.starts_with("# warning"))
        .collect();
    assert_eq!(
        body,
        vec![
            "AS64500",
            "AS64501",
            "AS64502",
            "AS64503",
            "AS64504",
            "AS64511",
            "AS65536",
            "# IPv4 prefixes: 4",
            "192.0.2.0/24",
            "198.51.100.0/24",
            "198.51.100.128/25",
            "203.0.113.0/24",
            "# IPv6 prefixes: 3",
            "2001:db8::/32",
            "2001:db8:1000::/36",
            "2001:db8:f000::/48",
        ]
    );
    assert!(out.contains("# warning: as-set AS-EXAMPLE-EDU: has mbrs-by-ref"));

    let err = expand_cli("AS-NOPE", &[example_db()], false).unwrap_err();
    assert!(err.to_string().contains("AS-NOPE"));
}
