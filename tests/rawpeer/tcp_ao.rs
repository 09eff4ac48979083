//! TCP-AO on reload: a member added with `tcp_ao` keys. On a kernel without
//! TCP-AO the reload is refused, names the member, and changes nothing; on
//! a kernel with it the member is added and an unsigned connection from its
//! address never gets an OPEN (the kernel requires TCP-AO from a peer with keys).

use std::time::Duration;

use anyhow::{ensure, Result};

use crate::fox::{Fox, Member};
use crate::lab::{A, B};
use crate::peer::{OpenOpts, RawPeer};

/// The member added with TCP-AO keys.
const D: Member = Member {
    name: "D",
    asn: 20940,
    host: 5,
};

#[tokio::test]
async fn reload_adding_a_tcp_ao_member() -> Result<()> {
    let mut fox = Fox::start("reload_tcp_ao", 141, &[A, B]).await?;
    let a_addr = fox.addr(A.host);
    let _a = RawPeer::establish(A.name, a_addr, fox.bgp, &OpenOpts::new(A.asn, a_addr)).await?;
    fox.wait_established(a_addr).await?;
    let yaml = fox.config_for(&[A, B, D]).replace(
        "  - name: D\n",
        "  - name: D\n    tcp_ao: { keys: [ { id: 1, recv_id: 1, algorithm: hmac(sha256), secret: \"d-ao-key\" } ] }\n",
    );
    fox.reload_with(&yaml)?;
    let d_addr = fox.addr(D.host);
    let neighbours = |v: serde_json::Value| v["neighbors"].as_array().map(Vec::len).unwrap_or(0);
    match fox_routeserver::session::tcp_ao::supported() {
        Err(e) => {
            eprintln!("reload_adding_a_tcp_ao_member: this kernel has no TCP-AO ({e}); checking the refused reload");
            fox.wait_log("configuration not applied: nothing changed", 0)
                .await?;
            let log = std::fs::read_to_string(&fox.log)?;
            ensure!(
                log.contains(&format!("member D ({d_addr}) configured with `tcp_ao`"))
                    && log.contains("does not support TCP-AO"),
                "the refused reload does not name the member and TCP-AO; see {}",
                fox.log.display()
            );
            ensure!(
                neighbours(fox.json("/api/v1/neighbors").await?) == 2,
                "D was added although the reload was refused"
            );
        }
        Ok(()) => {
            fox.wait_log("configuration reloaded", 0).await?;
            ensure!(neighbours(fox.json("/api/v1/neighbors").await?) == 3);
            let unsigned = tokio::time::timeout(
                Duration::from_secs(5),
                RawPeer::establish(D.name, d_addr, fox.bgp, &OpenOpts::new(D.asn, d_addr)),
            )
            .await;
            ensure!(
                !matches!(unsigned, Ok(Ok(_))),
                "an unsigned connection from a TCP-AO member came up"
            );
        }
    }
    ensure!(fox.state(a_addr).await? == "Established", "A went down");
    fox.assert_alive().await
}
