//! Is a change of the WIT contract allowed by its version? The contract
//! (`wit/`) is compared with the last released one (kept in
//! `tests/contract/released/`), both parsed by `wit-parser`, structurally:
//! comments and the order of declarations do not count, names and types do.
//!
//! What is compatible (a storefront or host built for the released contract
//! still works with the new component):
//!
//! | change                                              | compatible |
//! |-----------------------------------------------------|------------|
//! | an exported interface, function or type added       | yes        |
//! | an exported one removed, or its type changed in any way (a record field or a case added, removed, renamed or retyped; a parameter or result changed) | no |
//! | an import the host must provide added, or changed   | no         |
//! | an import removed                                   | yes        |
//!
//! The package version follows semantic versioning as Cargo reads it: an
//! incompatible change needs a breaking bump (the major version, or the
//! minor one while the major is 0: 0.7 -> 0.8), and any change at all
//! needs the version to move.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use wit_parser::{Function, Resolve, Type, TypeDefKind, WorldItem};

/// The world every build of the component targets.
pub const WORLD: &str = "credit-account";

/// One difference between two contracts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// What changed, e.g. `export storefront:credit/checkout: function authorize changed`.
    pub what: String,
    /// Whether users of the old contract keep working.
    pub compatible: bool,
}

/// Two contracts compared.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The released package version.
    pub released: wit_parser::PackageName,
    /// The package version now.
    pub current: wit_parser::PackageName,
    /// Every difference, compatible or not.
    pub changes: Vec<Change>,
}

impl Comparison {
    /// Why the current version does not fit the changes; `None` when it does.
    pub fn problem(&self) -> Option<String> {
        let (Some(old), Some(new)) = (&self.released.version, &self.current.version) else {
            return Some("the package has no version".into());
        };
        if new < old {
            return Some(format!("version {new} is older than the released {old}"));
        }
        let list = |compatible: Option<bool>| {
            self.changes.iter().filter(|c| compatible.is_none_or(|k| c.compatible == k)).map(|c| format!("  {}", c.what)).collect::<Vec<_>>().join("\n")
        };
        let breaking = |a: &semver::Version, b: &semver::Version| {
            if a.major > 0 { b.major != a.major } else if a.minor > 0 { b.minor != a.minor || b.major != 0 } else { b != a }
        };
        if self.changes.iter().any(|c| !c.compatible) && !breaking(old, new) {
            return Some(format!(
                "incompatible changes since {old} need a breaking version ({}), not {new}:\n{}",
                if old.major > 0 { format!("{}.0.0", old.major + 1) } else { format!("0.{}.0", old.minor + 1) },
                list(Some(false))
            ));
        }
        if !self.changes.is_empty() && new == old {
            return Some(format!("the contract changed but its version is still {old}:\n{}", list(None)));
        }
        None
    }
}

/// Compares the WIT package in `released` with the one in `current`
/// (folders of `.wit` files).
pub fn compare_dirs(released: &Path, current: &Path) -> Result<Comparison> {
    let mut old = Resolve::default();
    let (old_pkg, _) = old.push_dir(released).with_context(|| format!("parsing {}", released.display()))?;
    let mut new = Resolve::default();
    let (new_pkg, _) = new.push_dir(current).with_context(|| format!("parsing {}", current.display()))?;
    compare(&old, old_pkg, &new, new_pkg)
}

/// Compares two parsed packages' `credit-account` worlds.
pub fn compare(old: &Resolve, old_pkg: wit_parser::PackageId, new: &Resolve, new_pkg: wit_parser::PackageId) -> Result<Comparison> {
    let old_side = Side::of(old, old_pkg)?;
    let new_side = Side::of(new, new_pkg)?;
    let mut changes = Vec::new();
    for (dir, old_items, new_items) in [("export", &old_side.exports, &new_side.exports), ("import", &old_side.imports, &new_side.imports)] {
        let exported = dir == "export";
        for (name, old_shape) in old_items {
            match new_items.get(name) {
                None => changes.push(Change { what: format!("{dir} {name} removed"), compatible: !exported }),
                Some(new_shape) if new_shape != old_shape => changes.push(Change { what: format!("{dir} {name} changed"), compatible: false }),
                Some(_) => {}
            }
        }
        for name in new_items.keys().filter(|n| !old_items.contains_key(*n)) {
            changes.push(Change { what: format!("{dir} {name} added"), compatible: exported });
        }
    }
    Ok(Comparison { released: old.packages[old_pkg].name.clone(), current: new.packages[new_pkg].name.clone(), changes })
}

/// A world flattened: every function and named type of each interface it
/// imports or exports, by a path name, to its structural shape.
struct Side {
    imports: BTreeMap<String, String>,
    exports: BTreeMap<String, String>,
}

impl Side {
    fn of(resolve: &Resolve, pkg: wit_parser::PackageId) -> Result<Side> {
        let world = resolve.packages[pkg].worlds.get(WORLD).with_context(|| format!("no world {WORLD}"))?;
        let world = &resolve.worlds[*world];
        let mut side = Side { imports: BTreeMap::new(), exports: BTreeMap::new() };
        for (items, out) in [(&world.imports, &mut side.imports), (&world.exports, &mut side.exports)] {
            for (key, item) in items {
                let name = resolve.name_world_key(key);
                // Versions are compared on their own, not as part of names.
                let name = name.split_once('@').map_or(name.clone(), |(n, _)| n.to_owned());
                match item {
                    WorldItem::Interface { id, .. } => {
                        let iface = &resolve.interfaces[*id];
                        out.insert(name.clone(), "interface".into());
                        for (t, id) in &iface.types {
                            out.insert(format!("{name}: type {t}"), shape_of_def(resolve, *id)?);
                        }
                        for (f, func) in &iface.functions {
                            out.insert(format!("{name}: function {f}"), shape_of_fn(resolve, func)?);
                        }
                    }
                    WorldItem::Function(func) => {
                        out.insert(format!("function {name}"), shape_of_fn(resolve, func)?);
                    }
                    WorldItem::Type { id, .. } => {
                        out.insert(format!("type {name}"), shape_of_def(resolve, *id)?);
                    }
                }
            }
        }
        Ok(side)
    }
}

fn shape_of_fn(resolve: &Resolve, f: &Function) -> Result<String> {
    let params = f.params.iter().map(|p| Ok(format!("{}: {}", p.name, shape(resolve, &p.ty)?))).collect::<Result<Vec<_>>>()?;
    let result = f.result.as_ref().map(|t| shape(resolve, t)).transpose()?.unwrap_or_default();
    Ok(format!("func({}) -> {result}", params.join(", ")))
}

/// A type's structure, named types expanded (so a change anywhere under a
/// function changes its shape).
fn shape(resolve: &Resolve, ty: &Type) -> Result<String> {
    Ok(match ty {
        Type::Id(id) => shape_of_def(resolve, *id)?,
        Type::Bool => "bool".into(),
        Type::U8 => "u8".into(),
        Type::U16 => "u16".into(),
        Type::U32 => "u32".into(),
        Type::U64 => "u64".into(),
        Type::S8 => "s8".into(),
        Type::S16 => "s16".into(),
        Type::S32 => "s32".into(),
        Type::S64 => "s64".into(),
        Type::F32 => "f32".into(),
        Type::F64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::ErrorContext => "error-context".into(),
    })
}

fn shape_of_def(resolve: &Resolve, id: wit_parser::TypeId) -> Result<String> {
    let opt = |t: &Option<Type>| t.as_ref().map(|t| shape(resolve, t)).transpose().map(|s| s.unwrap_or_else(|| "_".into()));
    Ok(match &resolve.types[id].kind {
        TypeDefKind::Type(t) => shape(resolve, t)?,
        TypeDefKind::Record(r) => {
            let fields = r.fields.iter().map(|f| Ok(format!("{}: {}", f.name, shape(resolve, &f.ty)?))).collect::<Result<Vec<_>>>()?;
            format!("record {{{}}}", fields.join(", "))
        }
        TypeDefKind::Variant(v) => {
            let cases = v.cases.iter().map(|c| Ok(format!("{}({})", c.name, opt(&c.ty)?))).collect::<Result<Vec<_>>>()?;
            format!("variant {{{}}}", cases.join(", "))
        }
        TypeDefKind::Enum(e) => format!("enum {{{}}}", e.cases.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")),
        TypeDefKind::Flags(f) => format!("flags {{{}}}", f.flags.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")),
        TypeDefKind::Tuple(t) => format!("tuple<{}>", t.types.iter().map(|t| shape(resolve, t)).collect::<Result<Vec<_>>>()?.join(", ")),
        TypeDefKind::Option(t) => format!("option<{}>", shape(resolve, t)?),
        TypeDefKind::Result(r) => format!("result<{}, {}>", opt(&r.ok)?, opt(&r.err)?),
        TypeDefKind::List(t) => format!("list<{}>", shape(resolve, t)?),
        TypeDefKind::FixedLengthList(t, n) => format!("list<{}, {n}>", shape(resolve, t)?),
        TypeDefKind::Map(k, v) => format!("map<{}, {}>", shape(resolve, k)?, shape(resolve, v)?),
        other => bail!("the contract has a type this check does not compare: {other:?}"),
    })
}
