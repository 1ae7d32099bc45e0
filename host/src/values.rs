//! WIT values as JSON, the same for every host: the encoding of the
//! conformance vectors (`tests/vectors/`) and of `credit-host call`.
//!
//! | WIT                    | JSON                                             |
//! |------------------------|--------------------------------------------------|
//! | `bool`, integers       | `true`, `12` (64-bit values stay below 2^53)     |
//! | `string`, `char`       | `"text"`                                         |
//! | `list<T>`, `tuple<..>` | `[ ... ]`                                        |
//! | `record`               | `{"field-name": ...}`, every field, WIT names    |
//! | `variant`              | `{"tag": "case"}` or `{"tag": "case", "val": ..}` |
//! | `enum`                 | `"case"`                                         |
//! | `option<T>`            | `null` or the value                              |
//! | `result<T, E>`         | `{"ok": ...}` or `{"err": ...}`                  |
//! | `flags`                | `["flag", ...]`                                  |
//!
//! On input a record field whose type is an `option` may be left out (it is
//! `none`); any field the record does not have is refused, as is a value of
//! the wrong shape, with the path to it. Output always carries every field.

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value as Json};
use wasmtime::component::{Type, Val};

/// `json` as a value of type `ty`; `path` names it in errors.
pub fn from_json(ty: &Type, json: &Json, path: &str) -> Result<Val> {
    let wrong = |want: &str| anyhow!("{path}: expected {want}, found {json}");
    Ok(match ty {
        Type::Bool => Val::Bool(json.as_bool().ok_or_else(|| wrong("a boolean"))?),
        Type::U8 => Val::U8(int(json, path)?),
        Type::U16 => Val::U16(int(json, path)?),
        Type::U32 => Val::U32(int(json, path)?),
        Type::U64 => Val::U64(int(json, path)?),
        Type::S8 => Val::S8(int(json, path)?),
        Type::S16 => Val::S16(int(json, path)?),
        Type::S32 => Val::S32(int(json, path)?),
        Type::S64 => Val::S64(int(json, path)?),
        Type::String => Val::String(json.as_str().ok_or_else(|| wrong("a string"))?.to_owned()),
        Type::Char => {
            let s = json.as_str().ok_or_else(|| wrong("a one-character string"))?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Val::Char(c),
                _ => return Err(wrong("a one-character string")),
            }
        }
        Type::List(l) => {
            let items = json.as_array().ok_or_else(|| wrong("an array"))?;
            let item = l.ty();
            Val::List(items.iter().enumerate().map(|(i, v)| from_json(&item, v, &format!("{path}[{i}]"))).collect::<Result<_>>()?)
        }
        Type::Tuple(t) => {
            let items = json.as_array().ok_or_else(|| wrong("an array"))?;
            if items.len() != t.types().len() {
                return Err(wrong(&format!("an array of {}", t.types().len())));
            }
            Val::Tuple(t.types().zip(items).enumerate().map(|(i, (ty, v))| from_json(&ty, v, &format!("{path}[{i}]"))).collect::<Result<_>>()?)
        }
        Type::Record(r) => {
            let object = json.as_object().ok_or_else(|| wrong("an object"))?;
            for key in object.keys() {
                if !r.fields().any(|f| f.name == key) {
                    bail!("{path}: unknown field {key:?}");
                }
            }
            let mut fields = Vec::with_capacity(r.fields().len());
            for f in r.fields() {
                let sub = format!("{path}.{}", f.name);
                let v = match (object.get(f.name), &f.ty) {
                    (Some(v), ty) => from_json(ty, v, &sub)?,
                    (None, Type::Option(_)) => Val::Option(None),
                    (None, _) => bail!("{sub}: missing"),
                };
                fields.push((f.name.to_owned(), v));
            }
            Val::Record(fields)
        }
        Type::Variant(v) => {
            let object = json.as_object().ok_or_else(|| wrong("{\"tag\": ..., \"val\": ...}"))?;
            let tag = object.get("tag").and_then(Json::as_str).ok_or_else(|| wrong("{\"tag\": ..., \"val\": ...}"))?;
            if let Some(k) = object.keys().find(|k| *k != "tag" && *k != "val") {
                bail!("{path}: unknown field {k:?}");
            }
            let case = v.cases().find(|c| c.name == tag).with_context(|| format!("{path}: no case {tag:?}"))?;
            let payload = match (case.ty, object.get("val")) {
                (Some(ty), Some(val)) => Some(Box::new(from_json(&ty, val, &format!("{path}.{tag}"))?)),
                (Some(_), None) => bail!("{path}: case {tag:?} needs \"val\""),
                (None, None) => None,
                (None, Some(_)) => bail!("{path}: case {tag:?} has no value"),
            };
            Val::Variant(tag.to_owned(), payload)
        }
        Type::Enum(e) => {
            let name = json.as_str().ok_or_else(|| wrong("a string"))?;
            if !e.names().any(|n| n == name) {
                bail!("{path}: no case {name:?}");
            }
            Val::Enum(name.to_owned())
        }
        Type::Option(o) => match json {
            Json::Null => Val::Option(None),
            v => Val::Option(Some(Box::new(from_json(&o.ty(), v, path)?))),
        },
        Type::Result(r) => {
            let object = json.as_object().filter(|o| o.len() == 1).ok_or_else(|| wrong("{\"ok\": ...} or {\"err\": ...}"))?;
            let arm = |ty: Option<Type>, v: &Json, side: &str| -> Result<Option<Box<Val>>> {
                match ty {
                    Some(ty) => Ok(Some(Box::new(from_json(&ty, v, &format!("{path}.{side}"))?))),
                    None if v.is_null() => Ok(None),
                    None => bail!("{path}.{side}: expected null"),
                }
            };
            match (object.get("ok"), object.get("err")) {
                (Some(v), _) => Val::Result(Ok(arm(r.ok(), v, "ok")?)),
                (_, Some(v)) => Val::Result(Err(arm(r.err(), v, "err")?)),
                _ => return Err(wrong("{\"ok\": ...} or {\"err\": ...}")),
            }
        }
        Type::Flags(f) => {
            let items = json.as_array().ok_or_else(|| wrong("an array of flag names"))?;
            let mut names = Vec::new();
            for item in items {
                let name = item.as_str().filter(|n| f.names().any(|x| x == *n)).ok_or_else(|| anyhow!("{path}: no flag {item}"))?;
                names.push(name.to_owned());
            }
            Val::Flags(names)
        }
        other => bail!("{path}: the contract has no values of type {other:?}"),
    })
}

fn int<T: TryFrom<i64> + TryFrom<u64>>(json: &Json, path: &str) -> Result<T> {
    let n = match json {
        Json::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => T::try_from(u).ok(),
            (None, Some(i)) => T::try_from(i).ok(),
            _ => None,
        },
        _ => None,
    };
    n.ok_or_else(|| anyhow!("{path}: expected an integer in range, found {json}"))
}

/// `val` as JSON.
pub fn to_json(val: &Val) -> Json {
    match val {
        Val::Bool(b) => Json::Bool(*b),
        Val::U8(n) => Json::from(*n),
        Val::U16(n) => Json::from(*n),
        Val::U32(n) => Json::from(*n),
        Val::U64(n) => Json::from(*n),
        Val::S8(n) => Json::from(*n),
        Val::S16(n) => Json::from(*n),
        Val::S32(n) => Json::from(*n),
        Val::S64(n) => Json::from(*n),
        Val::Float32(f) => Json::from(*f),
        Val::Float64(f) => Json::from(*f),
        Val::Char(c) => Json::String(c.to_string()),
        Val::String(s) => Json::String(s.clone()),
        Val::List(items) | Val::Tuple(items) | Val::FixedLengthList(items) => Json::Array(items.iter().map(to_json).collect()),
        Val::Record(fields) => Json::Object(fields.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Val::Variant(tag, payload) => {
            let mut o = Map::new();
            o.insert("tag".into(), Json::String(tag.clone()));
            if let Some(p) = payload {
                o.insert("val".into(), to_json(p));
            }
            Json::Object(o)
        }
        Val::Enum(name) => Json::String(name.clone()),
        Val::Option(v) => v.as_deref().map_or(Json::Null, to_json),
        Val::Result(r) => {
            let (side, v) = match r {
                Ok(v) => ("ok", v),
                Err(v) => ("err", v),
            };
            let mut o = Map::new();
            o.insert(side.into(), v.as_deref().map_or(Json::Null, to_json));
            Json::Object(o)
        }
        Val::Flags(names) => Json::Array(names.iter().map(|n| Json::String(n.clone())).collect()),
        Val::Map(pairs) => Json::Array(pairs.iter().map(|(k, v)| Json::Array(vec![to_json(k), to_json(v)])).collect()),
        Val::Resource(_) | Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) => Json::Null,
    }
}

/// A type as JSON, for `credit-host contract` (the vectors' `contract.json`):
/// enough for a host in another language to turn vector JSON into its own
/// values (which integers are 64-bit, which fields are options, the cases
/// of each variant).
pub fn type_json(ty: &Type) -> Json {
    use serde_json::json;
    match ty {
        Type::Bool => json!("bool"),
        Type::U8 => json!("u8"),
        Type::U16 => json!("u16"),
        Type::U32 => json!("u32"),
        Type::U64 => json!("u64"),
        Type::S8 => json!("s8"),
        Type::S16 => json!("s16"),
        Type::S32 => json!("s32"),
        Type::S64 => json!("s64"),
        Type::Float32 => json!("f32"),
        Type::Float64 => json!("f64"),
        Type::Char => json!("char"),
        Type::String => json!("string"),
        Type::List(l) => json!({ "list": type_json(&l.ty()) }),
        Type::Tuple(t) => json!({ "tuple": t.types().map(|t| type_json(&t)).collect::<Vec<_>>() }),
        Type::Record(r) => json!({ "record": r.fields().map(|f| json!([f.name, type_json(&f.ty)])).collect::<Vec<_>>() }),
        Type::Variant(v) => {
            json!({ "variant": v.cases().map(|c| json!([c.name, c.ty.as_ref().map_or(Json::Null, type_json)])).collect::<Vec<_>>() })
        }
        Type::Enum(e) => json!({ "enum": e.names().collect::<Vec<_>>() }),
        Type::Option(o) => json!({ "option": type_json(&o.ty()) }),
        Type::Result(r) => json!({ "result": {
            "ok": r.ok().as_ref().map_or(Json::Null, type_json),
            "err": r.err().as_ref().map_or(Json::Null, type_json),
        }}),
        Type::Flags(f) => json!({ "flags": f.names().collect::<Vec<_>>() }),
        other => json!(format!("{other:?}")),
    }
}

/// How a value of one WIT type reads from serde's encoding of the host's
/// generated types into the WIT encoding: `journal::to_wit` worked out
/// once per type, for the typed calls' events (walking wasmtime's types on every
/// call was most of what events cost a call).
pub(crate) enum Plan {
    Same,
    List(Box<Plan>),
    Tuple(Vec<Plan>),
    Record(Vec<PlanField>),
    Variant(Vec<PlanCase>),
    Enum(Vec<(String, String)>),
    Option(Box<Plan>),
    Result(Option<Box<Plan>>, Option<Box<Plan>>),
}

/// A record field: its WIT name, serde's name, whether it may be missing.
pub(crate) struct PlanField {
    wit: String,
    rust: String,
    optional: bool,
    plan: Plan,
}

/// A variant case: its WIT name, folded, and its payload's plan.
pub(crate) struct PlanCase {
    wit: String,
    folded: String,
    plan: Option<Plan>,
}

impl Plan {
    /// The plan for `ty`.
    pub(crate) fn of(ty: &Type) -> Plan {
        match ty {
            Type::List(l) => Plan::List(Box::new(Plan::of(&l.ty()))),
            Type::Tuple(t) => Plan::Tuple(t.types().map(|t| Plan::of(&t)).collect()),
            Type::Record(r) => Plan::Record(
                r.fields()
                    .map(|f| PlanField { wit: f.name.to_owned(), rust: f.name.replace('-', "_"), optional: matches!(f.ty, Type::Option(_)), plan: Plan::of(&f.ty) })
                    .collect(),
            ),
            Type::Variant(v) => Plan::Variant(v.cases().map(|c| PlanCase { wit: c.name.to_owned(), folded: folded(c.name), plan: c.ty.as_ref().map(Plan::of) }).collect()),
            Type::Enum(e) => Plan::Enum(e.names().map(|n| (folded(n), n.to_owned())).collect()),
            Type::Option(o) => Plan::Option(Box::new(Plan::of(&o.ty()))),
            Type::Result(r) => Plan::Result(r.ok().map(|t| Box::new(Plan::of(&t))), r.err().map(|t| Box::new(Plan::of(&t)))),
            _ => Plan::Same,
        }
    }

    /// `json` (serde's encoding) in the WIT encoding; `to_wit`'s result.
    pub(crate) fn apply(&self, json: &Json) -> Result<Json> {
        let wrong = |want: &str| anyhow!("expected {want}, found {json}");
        Ok(match self {
            Plan::Same => json.clone(),
            Plan::List(p) => Json::Array(json.as_array().ok_or_else(|| wrong("an array"))?.iter().map(|v| p.apply(v)).collect::<Result<_>>()?),
            Plan::Tuple(ps) => Json::Array(json.as_array().ok_or_else(|| wrong("an array"))?.iter().zip(ps).map(|(v, p)| p.apply(v)).collect::<Result<_>>()?),
            Plan::Record(fields) => {
                let object = json.as_object().ok_or_else(|| wrong("an object"))?;
                let mut out = Map::new();
                for f in fields {
                    let v = match object.get(&f.rust) {
                        Some(v) => f.plan.apply(v).with_context(|| format!("field {}", f.wit))?,
                        None if f.optional => Json::Null,
                        None => bail!("field {}: missing", f.wit),
                    };
                    out.insert(f.wit.clone(), v);
                }
                Json::Object(out)
            }
            Plan::Variant(cases) => {
                let (case, payload) = case_of(json).ok_or_else(|| wrong("a case name or {\"Case\": value}"))?;
                let name = folded(case);
                let c = cases.iter().find(|c| c.folded == name).with_context(|| format!("no case {case:?}"))?;
                match (&c.plan, payload) {
                    (Some(p), Some(v)) => serde_json::json!({"tag": c.wit, "val": p.apply(v)?}),
                    (None, _) => serde_json::json!({"tag": c.wit}),
                    (Some(_), None) => bail!("case {case:?} needs a value"),
                }
            }
            Plan::Enum(names) => {
                let case = json.as_str().ok_or_else(|| wrong("a case name"))?;
                let name = folded(case);
                Json::String(names.iter().find(|(f, _)| *f == name).with_context(|| format!("no case {case:?}"))?.1.clone())
            }
            Plan::Option(p) => match json {
                Json::Null => Json::Null,
                v => p.apply(v)?,
            },
            Plan::Result(ok, err) => {
                let object = json.as_object().filter(|o| o.len() == 1).ok_or_else(|| wrong("{\"Ok\": ...} or {\"Err\": ...}"))?;
                let (side, v) = object.iter().next().expect("one entry");
                let (key, plan) = match side.as_str() {
                    "Ok" => ("ok", ok),
                    "Err" => ("err", err),
                    _ => return Err(wrong("{\"Ok\": ...} or {\"Err\": ...}")),
                };
                let v = match plan {
                    Some(p) => p.apply(v)?,
                    None => Json::Null,
                };
                serde_json::json!({ key: v })
            }
        })
    }
}

/// A function's plans: its parameters by name, and its result.
pub(crate) struct FuncPlan {
    params: Vec<(String, Plan)>,
    result: Plan,
}

impl FuncPlan {
    pub(crate) fn of(ty: &wasmtime::component::types::ComponentFunc) -> FuncPlan {
        FuncPlan {
            params: ty.params().map(|(p, t)| (p.to_owned(), Plan::of(&t))).collect(),
            result: ty.results().next().map_or(Plan::Same, |t| Plan::of(&t)),
        }
    }

    /// `rust_to_wit` with the plans.
    pub(crate) fn to_wit(&self, args: &Json, answer: &Json) -> Result<(Json, Json)> {
        let values = args.as_array().context("args: expected the array of parameters")?;
        if values.len() != self.params.len() {
            bail!("args: {} values for {} parameters", values.len(), self.params.len());
        }
        let mut out = Map::new();
        for ((p, plan), v) in self.params.iter().zip(values) {
            out.insert(p.clone(), plan.apply(v).with_context(|| format!("argument {p}"))?);
        }
        Ok((Json::Object(out), self.result.apply(answer).context("answer")?))
    }
}

/// A variant's case as serde writes it: `"Case"`, or `{"Case": value}`.
pub(crate) fn case_of(json: &Json) -> Option<(&str, Option<&Json>)> {
    match json {
        Json::String(s) => Some((s.as_str(), None)),
        Json::Object(o) if o.len() == 1 => o.iter().next().map(|(k, v)| (k.as_str(), Some(v))),
        _ => None,
    }
}

/// A name with case, `-` and `_` ignored: `credit-limit`, `credit_limit`
/// and `CreditLimit` are one.
pub(crate) fn folded(name: &str) -> String {
    name.chars().filter(|c| *c != '-' && *c != '_').flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_round_trip_and_out_of_range_integers_are_refused() {
        let v = from_json(&Type::U64, &serde_json::json!(9_007_199_254_740_991u64), "x").unwrap();
        assert_eq!(to_json(&v), serde_json::json!(9_007_199_254_740_991u64));
        assert!(from_json(&Type::U8, &serde_json::json!(256), "x").unwrap_err().to_string().contains("x: expected an integer in range"));
        assert!(from_json(&Type::U32, &serde_json::json!(-1), "x").is_err());
        assert!(from_json(&Type::S64, &serde_json::json!(1.5), "x").is_err());
        assert!(from_json(&Type::Char, &serde_json::json!("ab"), "x").is_err());
        assert_eq!(to_json(&from_json(&Type::S32, &serde_json::json!(-7), "x").unwrap()), serde_json::json!(-7));
    }
}
