//! `bmp:` BMP monitoring stations the route servers export to (RFC 7854).

use crate::decode::Ctx;
use crate::node::Node;

/// One BMP monitoring station; the route server connects to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BmpStation {
    /// Host name or address of the station.
    pub host: String,
    /// TCP port of the station (no IANA default; required).
    pub port: u16,
}

/// Decodes the `bmp:` list of stations.
pub(crate) fn decode_bmp(cx: &mut Ctx, node: &Node) -> Option<Vec<BmpStation>> {
    let items = crate::build::non_empty_list(cx, node, "bmp")?;
    let mut out = Vec::new();
    let mut ok = true;
    for i in items {
        let Some(g) = cx.fields(i, "BMP station", &["host", "port"]) else {
            ok = false;
            continue;
        };
        let host = g.req(cx, "host").and_then(|n| cx.string(n, "host"));
        let port = g.req(cx, "port").and_then(|n| cx.int(n, "port", 1, 65535));
        match (host, port) {
            (Some(host), Some(port)) => out.push(BmpStation { host, port }),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}
