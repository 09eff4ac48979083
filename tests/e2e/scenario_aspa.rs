//! ASPA path verification end to end: TANet (BIRD) announces one path that the ASPA set
//! attests and one that it refutes; the route server reads the ASPAs from an rpki-client style
//! JSON file (`aspas`). With `aspa: filter` the refuted one is filtered with reason
//! `RS:1101:1005` and never reaches TWAREN (GoBGP); the attested one arrives tagged
//! `RS:1002:1`. Rewriting the file flips both, without any session reset.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use ipnet::IpNet;

use crate::fixture::{run_with, Fixture, Setup, RS_ASN, TANET, TWAREN};
use crate::member::Announce;
use crate::netns::poll;
use crate::routeserver::{Fox, RsOptions};
use crate::scenario_policy::{addr_of, wait_api_route};
use crate::scenario_rpki::sessions_untouched;

/// Reason code of an ASPA-invalid route (`RS:1101:1005`).
const ASPA_INVALID: u32 = 1005;
/// The file is polled every 5 s; a flip must be seen well within this.
const FLIP_LIMIT: Duration = Duration::from_secs(20);

/// Origin behind TANet in the first path (TANet is its provider).
const CUSTOMER_A: u32 = 17716;
/// Origin behind TANet in the second path (its ASPA names another provider first).
const CUSTOMER_B: u32 = 4780;
/// A provider that is not a member.
const OTHER_PROVIDER: u32 = 3462;

const P_A: &str = "140.112.0.0/16";
const P_B: &str = "140.113.0.0/16";

fn net(s: &str) -> IpNet {
    s.parse()
        .unwrap_or_else(|e| panic!("bad test prefix {s}: {e}"))
}

/// The ASPA file: rpki-client JSON with no ROAs and one ASPA per origin.
fn aspa_json(a_providers: &[u32], b_providers: &[u32]) -> String {
    serde_json::json!({
        "metadata": { "buildtime": "2026-11-23T00:00:00Z" },
        "roas": [],
        "aspas": [
            { "customer_asid": CUSTOMER_A, "expires": 4102444800u64, "providers": a_providers },
            { "customer_asid": CUSTOMER_B, "expires": 4102444800u64, "providers": b_providers },
        ],
    })
    .to_string()
}

/// Replace the file atomically, so the poller never reads half of it.
fn write_atomic(path: &PathBuf, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).with_context(|| format!("write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))?;
    Ok(())
}

/// Wait until TWAREN holds `prefix` tagged with ASPA state `n` (`RS:1002:n`).
fn wait_tagged(fx: &Fixture<Fox>, prefix: IpNet, n: u32) -> Result<()> {
    fx.wait_route(TWAREN.name, prefix, |r| {
        r.large_communities.contains(&(RS_ASN, 1002, n))
    })?;
    Ok(())
}

fn wait_gone(fx: &Fixture<Fox>, prefix: IpNet) -> Result<()> {
    let m = fx.member(TWAREN.name);
    let gone = poll(FLIP_LIMIT, Duration::from_millis(50), || {
        m.routes_for(prefix).is_ok_and(|r| r.is_empty())
    });
    ensure!(gone, "TWAREN still holds {prefix} after {FLIP_LIMIT:?}");
    Ok(())
}

#[test]
fn fox_aspa_filter_and_flip() {
    let test = "fox_aspa_filter_and_flip";
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/e2e-data")
        .join(test);
    let file = dir.join("aspa.json");
    if let Err(e) = fs::create_dir_all(&dir)
        .and_then(|_| fs::write(&file, aspa_json(&[TANET.asn], &[OTHER_PROVIDER])))
    {
        panic!("{test}: cannot write {}: {e}", file.display());
    }
    let plan = vec![
        (
            TANET,
            vec![
                Announce::new(P_A).via(&[CUSTOMER_A]),
                Announce::new(P_B).via(&[CUSTOMER_B]),
            ],
        ),
        (TWAREN, Vec::new()),
    ];
    let setup = Setup {
        rs: RsOptions {
            rpki_files: vec![file.clone()],
            aspa: Some("filter"),
            ..RsOptions::default()
        },
        ..Setup::default()
    };
    run_with::<Fox>(test, &plan, &setup, |fx| {
        let (pa, pb) = (net(P_A), net(P_B));
        let tanet = addr_of(fx, TANET.name, &pa);
        // 1. A: 1659 17716, 17716's ASPA names 1659: valid, exported, tagged RS:1002:1.
        //    B: 1659 4780, 4780's ASPA names only 3462: invalid, filtered with the reason.
        wait_tagged(fx, pa, 1)?;
        let r = wait_api_route(fx, tanet, "filtered", pb, |r| r.reasons == [ASPA_INVALID])?;
        ensure!(r.aspa == "invalid", "API shows {r:?}");
        let r = wait_api_route(fx, tanet, "accepted", pa, |_| true)?;
        ensure!(r.aspa == "valid", "API shows {r:?}");
        ensure!(
            fx.member(TWAREN.name).routes_for(pb)?.is_empty(),
            "TWAREN received the ASPA-invalid {P_B}"
        );
        println!(
            "ok {P_A} ASPA-valid at TWAREN (RS:1002:1); {P_B} filtered with 1101:{ASPA_INVALID}"
        );

        // 2. The ASPAs change: 4780 adds TANet, 17716 drops it. Both flip.
        let t0 = Instant::now();
        write_atomic(
            &file,
            &aspa_json(&[OTHER_PROVIDER], &[OTHER_PROVIDER, TANET.asn]),
        )?;
        wait_tagged(fx, pb, 1)?;
        wait_gone(fx, pa)?;
        println!(
            "flip: {P_B} announced and {P_A} withdrawn at TWAREN {:?} after the file change (polled every 5 s)",
            t0.elapsed()
        );
        let r = wait_api_route(fx, tanet, "filtered", pa, |r| r.reasons == [ASPA_INVALID])?;
        ensure!(r.aspa == "invalid", "API shows {r:?}");
        sessions_untouched(fx)?;

        // 3. Back: the first set again.
        write_atomic(&file, &aspa_json(&[TANET.asn], &[OTHER_PROVIDER]))?;
        wait_tagged(fx, pa, 1)?;
        wait_gone(fx, pb)?;
        sessions_untouched(fx)?;
        println!("ok flipped back; no session was reset");
        Ok(())
    });
}
