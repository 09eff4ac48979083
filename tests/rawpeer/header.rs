//! Message header errors (RFC 4271 6.1) on an Established session: the
//! route server answers with the exact NOTIFICATION, withdraws A's routes
//! and accepts A again; B notices nothing.

use anyhow::Result;
use fox_routeserver::wire::*;
use ipnet::IpNet;

use crate::lab::{net, Lab};
use crate::msgs;

/// Send `bad` from an Established A with a route, expect `code/subcode/data`.
async fn header_case(test: &str, lan: u8, bad: &[u8], sub: u8, data: &[u8]) -> Result<()> {
    let mut lab = Lab::start(test, lan).await?;
    let mut a = lab.a_announced().await?;
    a.send_raw(bad).await?;
    a.expect_error(MESSAGE_HEADER_ERROR, sub, data).await?;
    lab.a_reset_and_recovers().await?;
    lab.finish().await
}

#[tokio::test]
async fn bad_marker_is_connection_not_synchronized() -> Result<()> {
    let mut m = msgs::keepalive();
    m[5] = 0;
    header_case(
        "bad_marker",
        10,
        &m,
        HEADER_CONNECTION_NOT_SYNCHRONIZED,
        &[],
    )
    .await
}

#[tokio::test]
async fn length_18_is_bad_message_length_with_the_length() -> Result<()> {
    let m = msgs::message_with_len(18, msgs::KEEPALIVE, &[]);
    header_case("length_18", 11, &m, HEADER_BAD_MESSAGE_LENGTH, &[0, 18]).await
}

#[tokio::test]
async fn length_4097_without_extended_messages_is_bad_message_length() -> Result<()> {
    // Only the header: the length alone is the error.
    let m = msgs::message_with_len(4097, msgs::UPDATE, &[]);
    header_case(
        "length_4097",
        12,
        &m,
        HEADER_BAD_MESSAGE_LENGTH,
        &[0x10, 0x01],
    )
    .await
}

#[tokio::test]
async fn keepalive_of_length_20_is_bad_message_length() -> Result<()> {
    let m = msgs::message_with_len(20, msgs::KEEPALIVE, &[0]);
    header_case("keepalive_20", 13, &m, HEADER_BAD_MESSAGE_LENGTH, &[0, 20]).await
}

#[tokio::test]
async fn unknown_type_is_bad_message_type_with_the_type() -> Result<()> {
    let m = msgs::message(9, &[]);
    header_case("unknown_type", 14, &m, HEADER_BAD_MESSAGE_TYPE, &[9]).await
}

/// Control for the 4096 limit: with Extended Message negotiated (RFC 8654) a
/// 4800-octet UPDATE is accepted, and B (without the capability) receives
/// its routes in messages of at most 4096 octets.
#[tokio::test]
async fn long_update_is_accepted_with_extended_messages() -> Result<()> {
    let mut lab = Lab::start("extended_message", 15).await?;
    let mut opts = lab.a_opts();
    opts.extended_message = true;
    let mut a = lab.a_with(&opts).await?;
    let prefixes: Vec<_> = (0..1200u32)
        .map(|i| net(&format!("12.{}.{}.0/24", i >> 8, i & 0xff)))
        .collect();
    let m = msgs::announce_v4(&[crate::lab::A.asn], lab.a_addr(), &[], &prefixes);
    anyhow::ensure!(m.len() > 4096, "test UPDATE is only {} octets", m.len());
    a.send_raw(&m).await?;
    let last = IpNet::V4(prefixes[prefixes.len() - 1]);
    let mut seen = 0;
    loop {
        let (u, raw) = lab
            .b
            .wait_update(
                std::time::Duration::from_secs(5),
                "A's long UPDATE",
                |u, _| !u.announced.is_empty(),
            )
            .await?;
        anyhow::ensure!(raw.len() <= 4096, "B got a {}-octet UPDATE", raw.len());
        seen += u.announced.iter().map(|(_, p)| p.len()).sum::<usize>();
        if u.announced.iter().any(|(_, p)| p.contains(&last)) && seen >= prefixes.len() {
            break;
        }
    }
    a.stay_up(std::time::Duration::from_millis(100)).await?;
    let n = lab.fox.neighbor(lab.a_addr()).await?;
    anyhow::ensure!(
        n["routes"]["received"]["ipv4"] == 1200,
        "A's received count: {n}"
    );
    lab.finish().await
}
