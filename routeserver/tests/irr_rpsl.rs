//! RPSL dump reading: real RIPE split files, gzip, continuation lines,
//! comments and syntax errors with their line numbers.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use fox_routeserver::irr::rpsl::{read_file, RpslData};
use fox_routeserver::irr::{IrrDb, IrrError, IrrWarning, Member, SetRef};
use ipnet::IpNet;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn temp_path(name: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("fox-irr-rpsl-{}-{n}-{name}", std::process::id()))
}

fn write_temp(name: &str, text: &str) -> PathBuf {
    let path = temp_path(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn shared(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/irr")
        .join(name);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: {} is missing", path.display());
        None
    }
}

fn parse(text: &str) -> (RpslData, Vec<IrrWarning>, PathBuf) {
    let path = write_temp("db.txt", text);
    let mut data = RpslData::default();
    let mut warnings = Vec::new();
    read_file(&path, &mut data, &mut warnings).unwrap();
    let _ = std::fs::remove_file(&path);
    (data, warnings, path)
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

#[test]
fn irr_ripe_route_dump() {
    let Some(path) = shared("ripe-db-route.txt") else {
        return;
    };
    let mut data = RpslData::default();
    let mut warnings = Vec::new();
    read_file(&path, &mut data, &mut warnings).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(data.routes.len(), 62);
    assert!(data.routes.iter().all(|r| r.prefix.addr().is_ipv4()));
    assert!(data
        .routes
        .iter()
        .all(|r| r.source.as_deref() == Some("RIPE")));
    let first = &data.routes[0];
    assert_eq!(first.prefix, net("193.254.30.0/24"));
    assert_eq!(first.origin, 12726);
    let last = data.routes.last().unwrap();
    assert_eq!(last.prefix, net("212.180.11.128/25"));
    // The object with a continued member-of: line still loads.
    assert!(data
        .routes
        .iter()
        .any(|r| r.prefix == net("194.113.52.0/23") && r.origin == 702));

    let (db, warnings) = IrrDb::load(&[path]).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(db.route_object_count(), 62);
    let list = db.routes_for_origins(&[5425]);
    assert_eq!(list.len_v4(), 7);
    assert!(list.contains_exact(&net("194.154.151.0/24")));
    assert!(list.contains_exact(&net("194.154.130.0/24")));
    let as1267: HashSet<IpNet> = db.routes_for_origins(&[1267]).v4().map(IpNet::V4).collect();
    let expected: HashSet<IpNet> = ["194.105.57.160/28", "194.105.57.128/27", "151.39.0.0/16"]
        .iter()
        .map(|s| net(s))
        .collect();
    assert_eq!(as1267, expected);
}

#[test]
fn irr_ripe_route6_dump() {
    let Some(path) = shared("ripe-db-route6.txt") else {
        return;
    };
    let (db, warnings) = IrrDb::load(std::slice::from_ref(&path)).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(db.route_object_count(), 62);
    let mut data = RpslData::default();
    read_file(&path, &mut data, &mut Vec::new()).unwrap();
    assert_eq!(data.routes.len(), 62);
    assert!(data.routes.iter().all(|r| r.prefix.addr().is_ipv6()));
    assert_eq!(data.routes[0].prefix, net("2001:1578:200::/40"));
    assert_eq!(data.routes[0].origin, 12817);
    let list = db.routes_for_origins(&[5408]);
    assert_eq!(list.len_v6(), 3);
    assert_eq!(list.len_v4(), 0);
    assert_eq!(
        list.longest_covering(&net("2001:648:2320:1::/64")),
        Some(net("2001:648:2320::/48"))
    );
    assert_eq!(
        list.longest_covering(&net("2001:648:1::/48")),
        Some(net("2001:648::/32"))
    );
    let as559 = db.routes_for_origins(&[559]);
    assert!(as559.contains_exact(&net("2002::/16")));
    assert!(as559.contains_exact(&net("2001:620::/32")));
}

#[test]
fn irr_gzip_by_extension_matches_plain() {
    let Some(plain) = shared("ripe-db-route6.txt") else {
        return;
    };
    let gz = temp_path("ripe.db.route6.gz");
    {
        let file = std::fs::File::create(&gz).unwrap();
        let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        enc.write_all(&std::fs::read(&plain).unwrap()).unwrap();
        enc.finish().unwrap();
    }
    let mut from_plain = RpslData::default();
    let mut from_gz = RpslData::default();
    read_file(&plain, &mut from_plain, &mut Vec::new()).unwrap();
    let mut warnings = Vec::new();
    read_file(&gz, &mut from_gz, &mut warnings).unwrap();
    let _ = std::fs::remove_file(&gz);
    assert!(warnings.is_empty());
    assert_eq!(from_gz.routes.len(), 62);
    assert_eq!(from_gz.routes, from_plain.routes);
}

#[test]
fn irr_corrupt_gzip_is_an_io_error_naming_the_file() {
    let path = write_temp("broken.db.gz", "route: 192.0.2.0/24\norigin: AS1\n");
    let err = IrrDb::load(std::slice::from_ref(&path)).unwrap_err();
    let _ = std::fs::remove_file(&path);
    assert!(matches!(err, IrrError::Io { .. }));
    assert!(err.to_string().contains("broken.db.gz"), "{err}");
}

#[test]
fn irr_missing_file_is_an_error() {
    let err = IrrDb::load(&[PathBuf::from("/nonexistent/fox/irr.db")]).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/fox/irr.db"), "{err}");
}

#[test]
fn irr_continuation_lines_and_comments() {
    let text = "\
% whois banner
as-set:     as-Cont   # comment after the name
members:    AS1,
            AS2 # trailing comment
+           ripe::as-other,\tAS3
\tAS4
members:    AS5
# a comment line inside the object
mbrs-by-ref: maint-foo
source:     ripe

route6:     2001:DB8::/32
origin:     as65551
";
    let (data, warnings, _) = parse(text);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(data.as_sets.len(), 1);
    let set = &data.as_sets[0];
    assert_eq!(set.name, "AS-CONT");
    assert_eq!(set.line, 2);
    assert_eq!(set.source.as_deref(), Some("RIPE"));
    assert_eq!(set.mbrs_by_ref, vec!["MAINT-FOO".to_string()]);
    assert_eq!(
        set.members,
        vec![
            Member::Asn(1),
            Member::Asn(2),
            Member::Set(SetRef {
                source: Some("RIPE".into()),
                name: "AS-OTHER".into()
            }),
            Member::Asn(3),
            Member::Asn(4),
            Member::Asn(5),
        ]
    );
    assert_eq!(data.routes.len(), 1);
    assert_eq!(data.routes[0].prefix, net("2001:db8::/32"));
    assert_eq!(data.routes[0].origin, 65551);
    assert_eq!(data.routes[0].source, None);
}

#[test]
fn irr_hierarchical_names_and_aut_num() {
    let text = "\
as-set:   AS1659:AS-Customers
members:  AS1659:AS-Peers, AS-X:AS65000:AS-Y

aut-num:  AS1.10
as-name:  DOT

aut-num:  as4200000000
";
    let (data, warnings, _) = parse(text);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(data.as_sets[0].name, "AS1659:AS-CUSTOMERS");
    assert_eq!(
        data.as_sets[0].members[1],
        Member::Set(SetRef {
            source: None,
            name: "AS-X:AS65000:AS-Y".into()
        })
    );
    let asns: Vec<u32> = data.aut_nums.iter().map(|a| a.asn).collect();
    assert_eq!(asns, vec![65546, 4_200_000_000]);
}

#[test]
fn irr_bad_objects_are_reported_with_line_and_skipped() {
    let text = "\
route:      192.0.2.0/24
origin:     AS64500

route:      192.0.2.0/33
origin:     AS64500

route:      198.51.100.0/24
this line has no colon
origin:     AS64500

  stray continuation

route:      203.0.113.1/24
origin:     AS64500

route:      2001:db8::/32
origin:     AS64500

route6:     2001:db8::/32
origin:     AS64500
origin:     AS64501

route:      198.51.100.0/25
origin:     64500

route:      198.51.100.128/25
descr:      no origin

as-set:     AS-BROKEN
members:    AS1, NOT-A-MEMBER

as-set:     AS64500
members:    AS1

inetnum:    192.0.2.0 - 192.0.2.255
bad attribute here

route6:     2001:db8:1::/48
origin:     AS64502
";
    let (data, warnings, path) = parse(text);
    let lines: Vec<usize> = warnings.iter().filter_map(IrrWarning::line).collect();
    assert_eq!(
        lines,
        vec![4, 8, 11, 13, 16, 21, 24, 26, 30, 32, 36],
        "{warnings:#?}"
    );
    let texts: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    let file = path.display().to_string();
    assert!(texts.iter().all(|t| t.starts_with(&format!("{file}:"))));
    assert!(texts[0].contains("not a prefix"), "{}", texts[0]);
    assert!(
        texts[1].contains("expected `attribute: value`"),
        "{}",
        texts[1]
    );
    assert!(texts[1].contains("starting at line 7"), "{}", texts[1]);
    assert!(texts[2].contains("continuation line outside an object"));
    assert!(texts[3].contains("host bits"), "{}", texts[3]);
    assert!(texts[4].contains("wrong address family"), "{}", texts[4]);
    assert!(texts[5].contains("more than once"), "{}", texts[5]);
    assert!(texts[6].contains("not an AS number"), "{}", texts[6]);
    assert!(texts[7].contains("missing `origin:`"), "{}", texts[7]);
    assert!(texts[8].contains("NOT-A-MEMBER"), "{}", texts[8]);
    assert!(texts[9].contains("not a valid as-set name"), "{}", texts[9]);
    assert!(
        texts[10].contains("inetnum object starting at line 35"),
        "{}",
        texts[10]
    );

    // The good objects around the bad ones still load.
    let prefixes: Vec<IpNet> = data.routes.iter().map(|r| r.prefix).collect();
    assert_eq!(prefixes, vec![net("192.0.2.0/24"), net("2001:db8:1::/48")]);
    assert!(data.as_sets.is_empty());
}

#[test]
fn irr_crlf_and_latin1_do_not_break_parsing() {
    let mut bytes =
        b"route:  192.0.2.0/24\r\ndescr:  M\xfcnchen\r\norigin: AS64500\r\n\r\n".to_vec();
    bytes.extend_from_slice(b"route6: 2001:db8::/32\norigin: AS64500\n");
    let path = temp_path("crlf.db");
    std::fs::write(&path, bytes).unwrap();
    let (db, warnings) = IrrDb::load(std::slice::from_ref(&path)).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(warnings.is_empty(), "{warnings:?}");
    let list = db.routes_for_origins(&[64500]);
    assert_eq!((list.len_v4(), list.len_v6()), (1, 1));
}
