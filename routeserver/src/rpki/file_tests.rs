//! Unit tests for the VRP file formats and their error messages.

use std::io::Write;

use super::*;
use crate::rpki::RpkiState;

/// A fresh directory under the system temp dir, removed on drop.
struct TmpDir(PathBuf);

impl TmpDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "fox-rpki-file-{tag}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TmpDir(p)
    }
    fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const RPKI_CLIENT: &str = r#"{
  "metadata": {"buildtime": "2025-07-20T10:01:43Z", "vrps": 3, "uniquevrps": 3},
  "roas": [
    { "asn": 13335, "prefix": "1.0.0.0/24", "maxLength": 24, "ta": "apnic", "expires": 1753453058 },
    { "asn": "AS64496", "prefix": "2001:db8::/32", "maxLength": 48, "ta": "ripe", "expires": 1 },
    { "asn": 13335, "prefix": "1.0.0.0/24", "maxLength": 24, "ta": "arin", "expires": 2 }
  ],
  "aspas": [ { "customer_asid": 1, "expires": 1, "providers": [2, 3] } ]
}"#;

const ROUTINATOR_JSONEXT: &str = r#"{
  "metadata": {"generated": 1700000000, "generatedTime": "2023-11-14T22:13:20Z"},
  "roas": [
    { "asn": "AS13335", "prefix": "1.1.1.0/24", "maxLength": 24,
      "source": [ { "type": "roa", "uri": "rsync://x/y.roa", "tal": "apnic",
        "validity": {"notBefore": "2023-01-01T00:00:00Z", "notAfter": "2024-01-01T00:00:00Z"},
        "chainValidity": {"notBefore": "2023-01-01T00:00:00Z", "notAfter": "2024-01-01T00:00:00Z"},
        "stale": "2024-01-01T00:00:00Z" } ] },
    { "asn": "AS0", "prefix": "192.0.2.0/24", "source": [] }
  ],
  "routerKeys": [], "aspas": []
}"#;

#[test]
fn rpki_client_json_with_dedup_and_string_asn() {
    let d = TmpDir::new("rc");
    let p = d.write("vrps.json", RPKI_CLIENT.as_bytes());
    let f = load_vrp_file(&p).unwrap();
    assert_eq!(f.entries, 3);
    assert_eq!(f.set.len(), 2, "same VRP from two TAs counts once");
    let n: IpNet = "2001:db8:1::/48".parse().unwrap();
    assert_eq!(f.set.validate(&n, Some(64496)), RpkiState::Valid);
}

#[test]
fn routinator_jsonext_and_missing_max_length() {
    let d = TmpDir::new("rt");
    let p = d.write("vrps.jsonext", ROUTINATOR_JSONEXT.as_bytes());
    let f = load_vrp_file(&p).unwrap();
    assert_eq!(f.set.len(), 2);
    let n: IpNet = "192.0.2.0/24".parse().unwrap();
    assert!(f.set.contains(&Vrp::new(n, 24, 0).unwrap()));
    assert_eq!(f.set.validate(&n, Some(0)), RpkiState::Invalid);
}

#[test]
fn gzip_and_bzip2_by_extension() {
    let d = TmpDir::new("z");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(RPKI_CLIENT.as_bytes()).unwrap();
    let p = d.write("v.json.gz", &gz.finish().unwrap());
    assert_eq!(load_vrp_file(&p).unwrap().set.len(), 2);
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    bz.write_all(b"ASN,IP Prefix,Max Length\nAS1,10.0.0.0/8,8\n")
        .unwrap();
    let p = d.write("v.CSV.BZ2", &bz.finish().unwrap());
    assert_eq!(load_vrp_file(&p).unwrap().set.len(), 1);
    // A .gz name on non-gzip data is an I/O error naming the file.
    let p = d.write("bad.json.gz", RPKI_CLIENT.as_bytes());
    let e = load_vrp_file(&p).unwrap_err().to_string();
    assert!(e.contains("bad.json.gz"), "{e}");
}

#[test]
fn csv_quoted_header_and_extra_columns() {
    let d = TmpDir::new("csv");
    let p = d.write(
        "roas.csv",
        b"\"ASN\",\"IP Prefix\",\"Max Length\",\"Trust Anchor\"\n\
          \"AS64496\",\"192.0.2.0/24\",\"24\",\"ripe\"\n\
          AS64497,2001:db8::/32,,apnic,1753011393,Some Net\n",
    );
    let f = load_vrp_file(&p).unwrap();
    assert_eq!(f.entries, 2);
    let n: IpNet = "2001:db8::/32".parse().unwrap();
    assert!(f.set.contains(&Vrp::new(n, 32, 64497).unwrap()));
}

#[test]
fn errors_name_file_and_entry() {
    let d = TmpDir::new("err");
    let cases: &[(&str, &str, &str)] = &[
        (
            "hostbits.json",
            r#"{"roas":[{"asn":1,"prefix":"10.0.0.0/8","maxLength":8},{"asn":1,"prefix":"10.0.0.1/8","maxLength":8}]}"#,
            "roas[1] (10.0.0.1/8): prefix 10.0.0.1/8 has host bits set",
        ),
        (
            "maxlen.json",
            r#"{"roas":[{"asn":1,"prefix":"10.0.0.0/8","maxLength":7}]}"#,
            "roas[0] (10.0.0.0/8): maxLength 7 is outside 8..=32",
        ),
        (
            "asn.json",
            r#"{"roas":[{"asn":"ASx","prefix":"10.0.0.0/8","maxLength":8}]}"#,
            "ASN \"ASx\" is not a number",
        ),
        (
            "big.json",
            r#"{"roas":[{"asn":4294967296,"prefix":"10.0.0.0/8"}]}"#,
            "ASN 4294967296 is out of range",
        ),
        ("noroas.json", r#"{"metadata":{}}"#, "no \"roas\" array"),
        ("syntax.json", "{\"roas\": [\n{\"asn\": 1,,}]}", "line 2"),
        (
            "bad.csv",
            "ASN,IP Prefix,Max Length\nAS1,10.0.0.0/8,8\nAS1,nonsense,8\n",
            "line 3: prefix \"nonsense\"",
        ),
    ];
    for (name, body, want) in cases {
        let p = d.write(name, body.as_bytes());
        let e = load_vrp_file(&p).unwrap_err().to_string();
        assert!(e.contains(name), "{e}");
        assert!(e.contains(want), "{name}: {e:?} should contain {want:?}");
    }
    let e = load_vrp_file(&d.0.join("missing.json")).unwrap_err();
    assert!(matches!(e, FileError::Io { .. }));
}
