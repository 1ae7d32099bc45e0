//! Conformance vectors: scenarios as data that any host runs through the
//! component and compares, answer by answer, with what they expect.
//!
//! A vector is one JSON file (the README's "Conformance vectors" walks
//! through one):
//!
//! ```json
//! {
//!   "title": "what it shows",
//!   "merchant": "shop",
//!   "steps": [
//!     { "call": "accounts.open-account", "args": { "ctx": {...}, "req": {...} },
//!       "expect": { "ok": {...} } },
//!     { "call": "checkout.authorize", "merchant": "other-shop", "args": {...},
//!       "expect": { "err": { "tag": "account-not-found", "val": "acme" } } },
//!     { "store-put": { "key": "acct/acme", "value-hex": "ff00" } }
//!   ]
//! }
//! ```
//!
//! Every step runs on a store that starts empty for the vector, scoped to
//! the step's merchant (the vector's unless the step names one). A `call`
//! is one exported function (`interface.function`, arguments by parameter
//! name, values as `crate::values` encodes them) in one transaction; its
//! answer must equal `expect` exactly. `store-put` and `store-delete` change
//! the store behind the component's back (to show what it does with damaged
//! data); they expect nothing.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::{Component, Ledger, MerchantId};

/// One vector file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    /// What it shows, in a line.
    pub title: String,
    /// More about it, if needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    /// The merchant of every step that names none.
    pub merchant: String,
    /// In order.
    pub steps: Vec<Step>,
}

/// One step of a vector.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Step {
    /// Why this step is here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    /// The merchant, when not the vector's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant: Option<String>,
    /// `interface.function`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// The call's arguments by parameter name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Json>,
    /// The answer the call must give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Json>,
    /// A raw write to the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_put: Option<RawPut>,
    /// A raw delete from the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_delete: Option<RawDelete>,
}

/// `store-put`: the value's bytes in hex.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPut {
    /// The key, as the component names it (no merchant prefix).
    pub key: String,
    /// The bytes, two hex digits each.
    pub value_hex: String,
}

/// `store-delete`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDelete {
    /// The key, as the component names it.
    pub key: String,
}

/// A step whose answer differed from what the vector expects.
#[derive(Clone, Debug)]
pub struct Mismatch {
    /// The step's index (from 0).
    pub step: usize,
    /// Its function.
    pub call: String,
    /// What the vector says.
    pub expected: Json,
    /// What the component answered.
    pub got: Json,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {} ({}): expected {} got {}", self.step, self.call, self.expected, self.got)
    }
}

/// What running a vector found.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Calls made.
    pub calls: usize,
    /// Answers that differed, in step order.
    pub mismatches: Vec<Mismatch>,
}

/// Reads a vector file.
pub fn load(path: &Path) -> Result<Vector> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a vector", path.display()))
}

/// The vector files in `dir` (`*.json` but `contract.json`), by name.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") && path.file_name().is_some_and(|n| n != "contract.json") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Runs `vector` on an empty in-memory store. With `record`, each call's
/// answer is written into its step's `expect` instead of compared (how a
/// new vector gets its answers; review them before committing).
pub fn run(component: &Component, vector: &mut Vector, record: bool) -> Result<Outcome> {
    let mut ledger = Ledger::open_in_memory(component);
    let mut outcome = Outcome::default();
    for (i, step) in vector.steps.iter_mut().enumerate() {
        let merchant = MerchantId::new(step.merchant.as_deref().unwrap_or(&vector.merchant))?;
        match (&step.call, &step.store_put, &step.store_delete) {
            (Some(call), None, None) => {
                let args = step.args.clone().unwrap_or(Json::Object(Default::default()));
                let got = ledger.call_json(&merchant, call, &args).with_context(|| format!("step {i} ({call})"))?;
                outcome.calls += 1;
                if record {
                    step.expect = Some(got);
                } else {
                    let expected = step.expect.clone().with_context(|| format!("step {i} ({call}) expects nothing"))?;
                    if expected != got {
                        outcome.mismatches.push(Mismatch { step: i, call: call.clone(), expected, got });
                    }
                }
            }
            (None, Some(put), None) => {
                let bytes = hex(&put.value_hex).with_context(|| format!("step {i}: value-hex"))?;
                let backend = ledger.backend();
                backend.begin()?;
                backend.put(merchant.as_str(), &put.key, &bytes)?;
                backend.commit()?;
            }
            (None, None, Some(delete)) => {
                let backend = ledger.backend();
                backend.begin()?;
                backend.delete(merchant.as_str(), &delete.key)?;
                backend.commit()?;
            }
            _ => bail!("step {i}: needs exactly one of call, store-put, store-delete"),
        }
    }
    Ok(outcome)
}

fn hex(s: &str) -> Result<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        bail!("odd number of hex digits");
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).with_context(|| format!("not hex: {:?}", &s[i..i + 2]))).collect()
}

/// The contract as JSON: every exported function's parameters and result
/// with their types (`crate::values::type_json`), keyed `interface.function`.
/// Written to `tests/vectors/contract.json` so a host in another language
/// can read vector JSON into its values without a WIT parser.
pub fn contract(component: &Component) -> Json {
    let mut functions = serde_json::Map::new();
    for (iface, name, ty) in component.exported_functions() {
        let short = iface.trim_start_matches("storefront:credit/").split('@').next().unwrap_or(&iface).to_owned();
        let params: Vec<Json> = ty.params().map(|(p, t)| serde_json::json!([p, crate::values::type_json(&t)])).collect();
        let results: Vec<Json> = ty.results().map(|t| crate::values::type_json(&t)).collect();
        functions.insert(format!("{short}.{name}"), serde_json::json!({ "params": params, "result": results.first() }));
    }
    serde_json::json!({ "package": format!("storefront:credit@{}", crate::WIT_VERSION), "functions": functions })
}

/// `contract` as text: one line per function, so a change to the contract
/// shows in a diff as the functions it touches.
pub fn contract_text(component: &Component) -> Result<String> {
    let contract = contract(component);
    let mut out = format!("{{\n  \"package\": {},\n  \"functions\": {{\n", contract["package"]);
    let functions = contract["functions"].as_object().context("functions")?;
    for (i, (name, f)) in functions.iter().enumerate() {
        let comma = if i + 1 < functions.len() { "," } else { "" };
        out.push_str(&format!("    {}: {}{comma}\n", Json::String(name.clone()), serde_json::to_string(f)?));
    }
    out.push_str("  }\n}\n");
    Ok(out)
}

/// The WIT of the `storefront:credit` package as a component carries it,
/// printed without comments (what `wasm-tools component wit` prints for
/// it): the interfaces a platform links against, read from the binary.
pub fn component_wit(wasm: &[u8]) -> Result<String> {
    let decoded = wit_component::decode(wasm).context("reading the component's WIT")?;
    let resolve = decoded.resolve();
    let (pkg, _) = resolve
        .packages
        .iter()
        .find(|(_, p)| p.name.namespace == "storefront" && p.name.name == "credit")
        .context("the component carries no storefront:credit package")?;
    let mut printer = wit_component::WitPrinter::default();
    printer.emit_docs(false);
    printer.print(resolve, pkg, &[])?;
    Ok(printer.output.to_string())
}

/// The interfaces of WIT text, each as its printed block with its items
/// (types, functions) in name order, the blocks in name order: the same
/// contract printed from two sources compares equal, whatever order each
/// declared things in.
pub fn interface_blocks(wit: &str) -> Vec<String> {
    let mut blocks: Vec<String> = wit
        .split("\ninterface ")
        .skip(1)
        .map(|b| {
            // The block ends at its closing brace, the first at column 0.
            let end = b.find("\n}").unwrap_or(b.len());
            let (header, body) = b[..end].split_once('\n').unwrap_or((&b[..end], ""));
            let mut items: Vec<&str> = body.split("\n\n").map(str::trim_end).filter(|i| !i.trim().is_empty()).collect();
            items.sort();
            format!("interface {header}\n{}\n}}", items.join("\n\n"))
        })
        .collect();
    blocks.sort();
    blocks
}
