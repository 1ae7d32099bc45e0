//! Builds the guest crate into a WebAssembly component and tells the host
//! where it is, so that plain `cargo build` / `cargo test` do everything.
//!
//! The guest is compiled for `wasm32-wasip2`, whose linker
//! (`wasm-component-ld`) writes the component itself: what this build embeds
//! is byte for byte what `cargo build -p credit-guest --target wasm32-wasip2
//! --profile guest` leaves in `target/wasm32-wasip2/guest/`. The guest is
//! `no_std` + `alloc` (see guest/src/lib.rs): with std, the component would
//! import about 15 WASI interfaces (stdio, environment, exit, clocks) that
//! it never calls and every platform would have to provide. Without it the
//! component imports the `store` interface and nothing else, which
//! `tests/all/tenancy.rs` checks.
//!
//! The inner cargo gets its own target directory under `OUT_DIR`: sharing
//! the outer one deadlocks on cargo's build-directory lock.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "guest";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let target_dir = out_dir.join("guest-target");

    ensure_target_installed();

    build_guest(&root, &target_dir, &["--profile", PROFILE], None);
    // A second build with deliberate faults, for the host's tests only.
    let faulty_dir = out_dir.join("guest-target-faulty");
    build_guest(&root, &faulty_dir, &["--release", "--features", "fault-injection"], None);
    let faulty = copy(&faulty_dir.join(TARGET).join("release").join("credit_guest.wasm"), &out_dir.join("credit_guest_faulty.wasm"));

    let artifact_dir = target_dir.join(TARGET).join(PROFILE);
    copy(&artifact_dir.join("credit_guest.wasm"), &out_dir.join("credit_guest.wasm"));

    // The build for capped platforms: the same code at opt-level "z" (profile
    // `guest-small`), linked as a core module so binaryen's `wasm-opt -Oz`
    // can shrink it (it does not read components), then made a component
    // with wit-component from the WIT wit-bindgen left in it.
    let small_dir = out_dir.join("guest-target-small");
    build_guest(&root, &small_dir, &["--profile", "guest-small"], Some("-Clink-arg=--skip-wit-component"));
    let core = small_dir.join(TARGET).join("guest-small").join("credit_guest.wasm");
    let optimised = out_dir.join("credit_guest_small_core.wasm");
    shrink(&core, &optimised);
    componentize(&optimised, &out_dir.join("credit_guest_small.wasm"));

    // Rebuild when anything the guest was built from changes.
    let dep_info = artifact_dir.join("credit_guest.d");
    for dep in read_dep_info(&dep_info) {
        println!("cargo:rerun-if-changed={}", dep.display());
    }
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    println!("cargo:rerun-if-changed={}", root.join("guest").display());
    println!("cargo:rerun-if-changed={}", root.join("Cargo.toml").display());
    println!("cargo:rerun-if-changed={}", root.join("Cargo.lock").display());

    let generated = format!(
        "/// Where `build.rs` left the component built with deliberate faults\n\
         /// (`guest` feature `fault-injection`), for tests of fault handling.\n\
         pub const FAULTY_COMPONENT_PATH: &str = {:?};\n",
        faulty.display().to_string()
    );
    std::fs::write(out_dir.join("faulty_component.rs"), generated).unwrap();
}

/// Copies the component the guest build left at `built` to `out`; returns `out`.
fn copy(built: &Path, out: &Path) -> PathBuf {
    std::fs::copy(built, out).unwrap_or_else(|e| panic!("the guest build did not produce {}: {e}", built.display()));
    out.to_path_buf()
}

/// `wasm-opt -Oz` (binaryen, through the `wasm-opt` crate) on a core
/// module, keeping its custom sections (the WIT wit-bindgen embedded).
/// `strip` removed the target-features section, so the features the Rust
/// target enables are named here.
fn shrink(module: &Path, out: &Path) {
    use wasm_opt::{Feature, OptimizationOptions};
    OptimizationOptions::new_optimize_for_size_aggressively()
        .enable_feature(Feature::BulkMemory)
        .enable_feature(Feature::SignExt)
        .enable_feature(Feature::MutableGlobals)
        .enable_feature(Feature::TruncSat)
        .enable_feature(Feature::Multivalue)
        .enable_feature(Feature::ReferenceTypes)
        .run(module, out)
        .unwrap_or_else(|e| panic!("wasm-opt on {}: {e}", module.display()));
}

/// Wraps the core module at `module` into a component at `out`.
fn componentize(module: &Path, out: &Path) {
    let bytes = std::fs::read(module).unwrap_or_else(|e| panic!("reading {}: {e}", module.display()));
    let component = wit_component::ComponentEncoder::default()
        .module(&bytes)
        .and_then(|e| e.validate(true).encode())
        .unwrap_or_else(|e| panic!("making a component of {}: {e:#}", module.display()));
    std::fs::write(out, component).unwrap();
}

/// Runs cargo for the guest with its own target directory, with `rustflags`
/// if given (instead of any the outer build has).
fn build_guest(root: &Path, target_dir: &Path, args: &[&str], rustflags: Option<&str>) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    match rustflags {
        Some(flags) => command.env("CARGO_ENCODED_RUSTFLAGS", flags),
        None => command.env_remove("CARGO_ENCODED_RUSTFLAGS"),
    };
    let status = command
        .current_dir(root)
        .args(["build", "--package", "credit-guest", "--target", TARGET])
        .args(args)
        .arg("--target-dir")
        .arg(target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_MAKEFLAGS")
        .status()
        .expect("failed to run cargo for the guest");
    assert!(status.success(), "building the guest component failed (see the errors above)");
}

/// Adds the guest's target through rustup when it is missing, so a
/// fresh machine with only rustup and cargo builds without a manual step.
fn ensure_target_installed() {
    let Ok(output) = Command::new("rustup").args(["target", "list", "--installed"]).output() else {
        println!("cargo:warning=rustup not found; assuming the {TARGET} target is installed");
        return;
    };
    let installed = String::from_utf8_lossy(&output.stdout);
    if installed.lines().any(|l| l.trim() == TARGET) {
        return;
    }
    let status = Command::new("rustup").args(["target", "add", TARGET]).status().expect("failed to run rustup");
    assert!(status.success(), "`rustup target add {TARGET}` failed");
}

/// The dependency paths in a Makefile-style `.d` file (first rule only).
fn read_dep_info(path: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    let Some(first) = text.lines().next() else { return Vec::new() };
    let Some((_, deps)) = first.split_once(": ") else { return Vec::new() };
    // Paths with spaces are escaped as `\ `.
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = deps.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' => {
                if !current.is_empty() {
                    out.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(PathBuf::from(current));
    }
    out
}
