//! `fox mrt dump` against the running route server: the file it writes
//! holds the routes the admin API lists, read back with bgpkit-parser.

use std::process::Command;

use anyhow::{ensure, Context, Result};
use ipnet::IpNet;

use crate::lab::{Lab, B};

#[tokio::test]
async fn fox_mrt_dump_writes_the_rib_through_the_admin_api() -> Result<()> {
    let lab = Lab::start("mrt_cli", 110).await?;
    let b_addr = lab.fox.addr(B.host);
    let dir = lab.fox.log.parent().context("log dir")?.to_path_buf();
    for name in ["rib.mrt", "rib.mrt.gz"] {
        let out = dir.join(name);
        let _ = std::fs::remove_file(&out);
        let run = Command::new(env!("CARGO_BIN_EXE_fox"))
            .args(["mrt", "dump", "--api"])
            .arg(format!("http://{}", lab.fox.api))
            .arg("--out")
            .arg(&out)
            .output()?;
        let stdout = String::from_utf8_lossy(&run.stdout);
        ensure!(
            run.status.success(),
            "fox mrt dump failed: {stdout} {}",
            String::from_utf8_lossy(&run.stderr)
        );
        ensure!(stdout.contains("1 RIB entries"), "{stdout}");
        let f = std::fs::File::open(&out)?;
        let reader: Box<dyn std::io::Read + Send> = if name.ends_with(".gz") {
            Box::new(flate2::read::GzDecoder::new(f))
        } else {
            Box::new(f)
        };
        let elems: Vec<_> = bgpkit_parser::BgpkitParser::from_reader(reader)
            .into_elem_iter()
            .collect();
        ensure!(elems.len() == 1, "{name}: {elems:?}");
        let e = &elems[0];
        ensure!(e.prefix.prefix == IpNet::V4(lab.b_prefix), "{e:?}");
        ensure!(e.peer_ip == std::net::IpAddr::V4(b_addr), "{e:?}");
        ensure!(e.peer_asn.to_u32() == B.asn, "{e:?}");
        let path = e.as_path.as_ref().and_then(|p| p.to_u32_vec_opt(false));
        ensure!(path == Some(vec![B.asn]), "{e:?}");
    }
    // A wrong address fails with a message, and writes nothing.
    let out = dir.join("none.mrt");
    let run = Command::new(env!("CARGO_BIN_EXE_fox"))
        .args(["mrt", "dump", "--api", "127.0.0.1:1", "--out"])
        .arg(&out)
        .output()?;
    ensure!(!run.status.success());
    ensure!(
        String::from_utf8_lossy(&run.stderr).contains("127.0.0.1:1"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    ensure!(!out.exists());
    Ok(())
}
