//! What another platform needs: the component file itself, its contract as
//! data, and the conformance vectors run against any build.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::Component;

#[derive(clap::Args)]
pub(super) struct ComponentArgs {
    /// Where to write the `.wasm` file.
    #[arg(long)]
    out: PathBuf,
    /// Which build.
    #[arg(long, value_enum, default_value_t = Build::Fast)]
    build: Build,
}

/// The builds of the component this host carries.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(super) enum Build {
    /// The shipped component, optimised for speed.
    Fast,
    /// The same code optimised for size, for platforms that cap it.
    Small,
    /// For hosts' tests only: panics, loops forever or hoards memory when
    /// an order id says so (`FAULT-PANIC`, `FAULT-LOOP`, `FAULT-ALLOC`),
    /// and charges late fees a day late (a rule change for `replay`).
    Faulty,
}

impl Build {
    /// The build's `.wasm` bytes, as embedded in this host.
    fn bytes(self) -> Result<Vec<u8>> {
        Ok(match self {
            Build::Fast => crate::component::COMPONENT_WASM.to_vec(),
            Build::Small => crate::component::SMALL_COMPONENT_WASM.to_vec(),
            Build::Faulty => std::fs::read(crate::component::FAULTY_COMPONENT_PATH)?,
        })
    }
}

/// Writes an embedded component, byte for byte what its build made.
pub(super) fn component(args: &ComponentArgs) -> Result<ExitCode> {
    let bytes = args.build.bytes()?;
    std::fs::write(&args.out, &bytes).with_context(|| format!("writing {}", args.out.display()))?;
    println!("{}: {} bytes, storefront:credit@{} ({:?} build)", args.out.display(), bytes.len(), crate::WIT_VERSION, args.build);
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub(super) struct WitArgs {
    /// Which build.
    #[arg(long, value_enum, default_value_t = Build::Fast)]
    build: Build,
}

/// Prints the WIT the component carries (as `wasm-tools component wit`).
pub(super) fn wit(args: &WitArgs) -> Result<ExitCode> {
    let bytes = args.build.bytes()?;
    print!("{}", crate::vectors::component_wit(&bytes)?);
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub(super) struct ContractArgs {
    /// Write it here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Prints every exported function with its parameter and result types as
/// JSON (see `credit_host::vectors::contract`).
pub(super) fn contract(component: &Component, args: &ContractArgs) -> Result<ExitCode> {
    let text = crate::vectors::contract_text(component)?;
    match &args.out {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub(super) struct VectorsArgs {
    /// A vector file or a folder of them.
    #[arg(default_value = "tests/vectors")]
    path: PathBuf,
    /// Run another build of the component (a `.wasm` file) instead of the
    /// embedded one.
    #[arg(long)]
    component: Option<PathBuf>,
    /// Write each call's answer into the vector as what it expects (for a
    /// new vector; review the answers before committing them).
    #[arg(long)]
    record: bool,
}

/// Runs conformance vectors; exit status 1 when any answer differs.
pub(super) fn vectors(embedded: impl FnOnce() -> Result<Component>, args: &VectorsArgs) -> Result<ExitCode> {
    let component = match &args.component {
        Some(path) => Component::from_bytes(&std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)?,
        None => embedded()?,
    };
    let files = if args.path.is_dir() { crate::vectors::files(&args.path)? } else { vec![args.path.clone()] };
    let (mut calls, mut differing) = (0, 0);
    for file in &files {
        let mut vector = crate::vectors::load(file)?;
        let outcome = crate::vectors::run(&component, &mut vector, args.record).with_context(|| format!("{}", file.display()))?;
        calls += outcome.calls;
        if args.record {
            std::fs::write(file, serde_json::to_string_pretty(&vector)? + "\n")?;
        }
        let status = if outcome.mismatches.is_empty() { "ok".to_owned() } else { format!("{} DIFFER", outcome.mismatches.len()) };
        println!("{:<40} {:>4} calls  {status}", file.file_name().unwrap_or_default().to_string_lossy(), outcome.calls);
        for m in &outcome.mismatches {
            println!("  {m}");
        }
        differing += outcome.mismatches.len();
    }
    println!("{} vectors, {calls} calls, {differing} answers differ{}", files.len(), if args.record { " (recorded)" } else { "" });
    Ok(if differing == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
