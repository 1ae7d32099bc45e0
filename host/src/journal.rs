//! The journal of mutating calls, and replaying it through another build.
//!
//! Every call of a function that may write (`accounts`, `billing`,
//! `checkout`) leaves one record in the store's journal (`Backend::
//! journal_append`): in the call's own transaction when the component
//! answered `ok` (so the record exists exactly when the call's writes do),
//! and in a transaction of its own after the rollback when it answered with
//! an error. Calls that trapped have no answer and leave none. Queries and
//! reports change nothing and are not journaled.
//!
//! A record is one JSON object:
//!
//! ```json
//! {"format": 1, "function": "checkout.authorize", "wit": "0.7.0",
//!  "encoding": "rust", "args": [ctx, req], "answer": {"Ok": {...}}}
//! ```
//!
//! `function` is `interface.function` as the WIT names them; `wit` the
//! contract version of the host that made the call. With `"encoding":
//! "wit"` (calls made through `Ledger::call_json`, such as the conformance
//! vectors and `credit-host call`) `args` is an object by parameter name
//! and `answer` the result, both in the encoding of `crate::values`. With
//! `"encoding": "rust"` (the host's typed calls, the storefront's hot path)
//! `args` is the array of parameters in order and `answer` the result, both
//! as serde writes the host's generated types (snake_case fields, cases by
//! their Rust names): cheaper to write, and read back into the WIT encoding
//! against the function's type (`to_wit`), matching names with case and
//! `-`/`_` ignored. The time passed in is the `now-ms` of the `ctx`
//! argument.
//!
//! `crate::replay` runs a journal through another build.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value as Json};
use wasmtime::component::Type;

use crate::component::Component;
use crate::values::{case_of, folded};

/// The version of the record format written.
pub const FORMAT: u64 = 1;

/// A record of a typed call (see the module docs).
pub(crate) fn record_rust<P: serde::Serialize, A: serde::Serialize>(function: &str, args: &P, answer: &A) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(768);
    out.extend_from_slice(b"{\"format\":1,\"function\":\"");
    out.extend_from_slice(function.as_bytes());
    out.extend_from_slice(b"\",\"wit\":\"");
    out.extend_from_slice(crate::WIT_VERSION.as_bytes());
    out.extend_from_slice(b"\",\"encoding\":\"rust\",\"args\":");
    serde_json::to_writer(&mut out, args)?;
    out.extend_from_slice(b",\"answer\":");
    serde_json::to_writer(&mut out, answer)?;
    out.push(b'}');
    Ok(out)
}

/// A record of a call made with WIT-encoded JSON.
pub(crate) fn record_wit(function: &str, args: &Json, answer: &Json) -> Result<Vec<u8>> {
    let record = serde_json::json!({
        "format": FORMAT, "function": function, "wit": crate::WIT_VERSION, "encoding": "wit", "args": args, "answer": answer,
    });
    Ok(serde_json::to_vec(&record)?)
}

/// One journal record, read back.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Record {
    /// The record format (`FORMAT`).
    pub format: u64,
    /// `interface.function`.
    pub function: String,
    /// The contract version of the host that made the call.
    pub wit: String,
    /// `rust` or `wit` (module docs).
    pub encoding: String,
    /// The arguments.
    pub args: Json,
    /// The answer.
    pub answer: Json,
}

impl Record {
    /// Reads a record's bytes.
    pub fn parse(bytes: &[u8]) -> Result<Record> {
        let r: Record = serde_json::from_slice(bytes).context("a journal record that is not JSON of the expected shape")?;
        if r.format != FORMAT {
            bail!("journal record format {} is not one this host reads ({FORMAT})", r.format);
        }
        Ok(r)
    }

    /// The arguments and the answer in the WIT encoding, read against the
    /// function's type in `component`.
    pub fn to_wit(&self, component: &Component) -> Result<(Json, Json)> {
        let (iface, name) = self.function.split_once('.').with_context(|| format!("{:?} is not interface.function", self.function))?;
        let want = format!("storefront:credit/{iface}@");
        let ty = component
            .exported_functions()
            .into_iter()
            .find(|(i, n, _)| i.starts_with(&want) && n == name)
            .map(|(_, _, ty)| ty)
            .with_context(|| format!("the component exports no function {:?}", self.function))?;
        match self.encoding.as_str() {
            "wit" => Ok((self.args.clone(), self.answer.clone())),
            "rust" => rust_to_wit(&ty, &self.args, &self.answer),
            other => bail!("journal encoding {other:?} is not one this host reads"),
        }
    }
}

/// A typed call's parameters (the array serde writes) and answer, as the
/// host's generated types serialize, in the WIT encoding: the arguments by
/// parameter name.
pub(crate) fn rust_to_wit(ty: &wasmtime::component::types::ComponentFunc, args: &Json, answer: &Json) -> Result<(Json, Json)> {
    let values = args.as_array().context("args: expected the array of parameters")?;
    if values.len() != ty.params().len() {
        bail!("args: {} values for {} parameters", values.len(), ty.params().len());
    }
    let mut out = Map::new();
    for ((p, t), v) in ty.params().zip(values) {
        out.insert(p.to_owned(), to_wit(&t, v, p)?);
    }
    let result = ty.results().next().context("the function has no result")?;
    Ok((Json::Object(out), convert(&result, answer, "answer", Side::Answer)?))
}


/// A value as serde writes the host's generated types, in the WIT
/// encoding of `crate::values`, read against `ty`.
pub fn to_wit(ty: &Type, json: &Json, path: &str) -> Result<Json> {
    convert(ty, json, path, Side::Argument)
}

/// Which side of a call a value is, for the fields a later contract added
/// to a record, which an older recording does not have.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    /// An argument: an option added since reads as none (the call can be
    /// made again); any other field is missing, and it cannot.
    Argument,
    /// An answer: a field added since is left out, so that what is
    /// compared (`replay::covers`) is what was recorded.
    Answer,
}

fn convert(ty: &Type, json: &Json, path: &str, side: Side) -> Result<Json> {
    let wrong = |want: &str| anyhow!("{path}: expected {want}, found {json}");
    Ok(match ty {
        Type::List(l) => {
            let item = l.ty();
            let items = json.as_array().ok_or_else(|| wrong("an array"))?;
            Json::Array(items.iter().enumerate().map(|(i, v)| convert(&item, v, &format!("{path}[{i}]"), side)).collect::<Result<_>>()?)
        }
        Type::Tuple(t) => {
            let items = json.as_array().ok_or_else(|| wrong("an array"))?;
            Json::Array(t.types().zip(items).enumerate().map(|(i, (ty, v))| convert(&ty, v, &format!("{path}[{i}]"), side)).collect::<Result<_>>()?)
        }
        Type::Record(r) => {
            let object = json.as_object().ok_or_else(|| wrong("an object"))?;
            let by_name: BTreeMap<String, &Json> = object.iter().map(|(k, v)| (folded(k), v)).collect();
            let mut out = Map::new();
            for f in r.fields() {
                let sub = format!("{path}.{}", f.name);
                match by_name.get(&folded(f.name)) {
                    Some(v) => {
                        out.insert(f.name.to_owned(), convert(&f.ty, v, &sub, side)?);
                    }
                    // A field the recording host did not have (`Side`).
                    None if side == Side::Answer => {}
                    None if matches!(f.ty, Type::Option(_)) => {
                        out.insert(f.name.to_owned(), Json::Null);
                    }
                    None => bail!("{sub}: missing"),
                }
            }
            Json::Object(out)
        }
        Type::Variant(v) => {
            let (case, payload) = case_of(json).ok_or_else(|| wrong("a case name or {\"Case\": value}"))?;
            let c = v.cases().find(|c| folded(c.name) == folded(case)).with_context(|| format!("{path}: no case {case:?}"))?;
            match (c.ty, payload) {
                (Some(ty), Some(p)) => serde_json::json!({"tag": c.name, "val": convert(&ty, p, &format!("{path}.{}", c.name), side)?}),
                (None, _) => serde_json::json!({"tag": c.name}),
                (Some(_), None) => bail!("{path}: case {case:?} needs a value"),
            }
        }
        Type::Enum(e) => {
            let case = json.as_str().ok_or_else(|| wrong("a case name"))?;
            Json::String(e.names().find(|n| folded(n) == folded(case)).with_context(|| format!("{path}: no case {case:?}"))?.to_owned())
        }
        Type::Option(o) => match json {
            Json::Null => Json::Null,
            v => convert(&o.ty(), v, path, side)?,
        },
        Type::Result(r) => {
            let object = json.as_object().filter(|o| o.len() == 1).ok_or_else(|| wrong("{\"Ok\": ...} or {\"Err\": ...}"))?;
            let (which, v) = object.iter().next().expect("one entry");
            let (key, ty) = match which.as_str() {
                "Ok" => ("ok", r.ok()),
                "Err" => ("err", r.err()),
                _ => return Err(wrong("{\"Ok\": ...} or {\"Err\": ...}")),
            };
            let v = match ty {
                Some(ty) => convert(&ty, v, &format!("{path}.{key}"), side)?,
                None => Json::Null,
            };
            serde_json::json!({ key: v })
        }
        Type::Flags(_) => bail!("{path}: flags are not journaled"),
        // Booleans, numbers, strings and chars are the same in both.
        _ => json.clone(),
    })
}
