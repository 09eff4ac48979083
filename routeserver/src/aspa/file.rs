//! ASPAs in VRP JSON files: rpki-client's `aspas` array
//! (`{"customer_asid": 945, "expires": ..., "providers": [13213, 150369]}`)
//! and StayRTR's `provider_authorizations` (`{"ipv4": [...], "ipv6": [...]}`
//! with the same records). ASNs may be numbers or strings like "AS13213";
//! a provider may also be an object with `asid`/`provider_asid`. The draft
//! verifies IPv4 and IPv6 with the union of both families' providers
//! (section 7.1), so per-family lists are merged.

use serde_json::Value;

use super::AspaSet;
use crate::wire::Asn;

/// Reads the ASPA records of a parsed VRP JSON file; `None` when it has
/// none. An error names the record (`aspas[3]`) and what is wrong.
pub fn aspas_from_json(
    aspas: Option<&Value>,
    provider_authorizations: Option<&Value>,
) -> Result<Option<AspaSet>, String> {
    let mut records: Vec<(Asn, Vec<Asn>)> = Vec::new();
    let mut seen = false;
    if let Some(v) = aspas {
        seen = true;
        read_list(v, "aspas", &mut records)?;
    }
    if let Some(v) = provider_authorizations {
        seen = true;
        match v {
            Value::Object(m) => {
                for (afi, list) in m {
                    read_list(
                        list,
                        &format!("provider_authorizations.{afi}"),
                        &mut records,
                    )?;
                }
            }
            Value::Array(_) => read_list(v, "provider_authorizations", &mut records)?,
            _ => return Err("provider_authorizations: not an object or array".into()),
        }
    }
    Ok(seen.then(|| AspaSet::from_records(records)))
}

fn read_list(v: &Value, what: &str, out: &mut Vec<(Asn, Vec<Asn>)>) -> Result<(), String> {
    let Value::Array(items) = v else {
        return Err(format!("{what}: not an array"));
    };
    for (i, item) in items.iter().enumerate() {
        let at = || format!("{what}[{i}]");
        let Value::Object(rec) = item else {
            return Err(format!("{}: not an object", at()));
        };
        let customer = rec
            .get("customer_asid")
            .or_else(|| rec.get("customer"))
            .ok_or_else(|| format!("{}: no customer_asid", at()))
            .and_then(|c| asn(c).map_err(|e| format!("{}: customer_asid {e}", at())))?;
        let Some(Value::Array(provs)) = rec.get("providers") else {
            return Err(format!("{}: no providers array", at()));
        };
        let mut providers = Vec::with_capacity(provs.len());
        for p in provs {
            let p = match p {
                Value::Object(o) => o
                    .get("provider_asid")
                    .or_else(|| o.get("asid"))
                    .ok_or_else(|| format!("{}: provider without asid", at()))?,
                other => other,
            };
            providers.push(asn(p).map_err(|e| format!("{}: provider {e}", at()))?);
        }
        out.push((customer, providers));
    }
    Ok(())
}

fn asn(v: &Value) -> Result<Asn, String> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| Asn::try_from(n).ok())
            .ok_or_else(|| format!("{n} is not an ASN")),
        Value::String(s) => {
            let d = s
                .strip_prefix("AS")
                .or_else(|| s.strip_prefix("as"))
                .unwrap_or(s);
            d.parse().map_err(|_| format!("{s:?} is not an ASN"))
        }
        other => Err(format!("{other} is not an ASN")),
    }
}
