//! Generates the gRPC code from `proto/`. Needs `protoc`: Debian's
//! `protobuf-compiler` (README's setup and `.ci/run` install it), or `PROTOC` set.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, not with env!(): a build script compiled in another clone
    // sharing the target directory would otherwise point at that clone's protos.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")?;
    let root = std::path::Path::new(&manifest_dir).join("../../proto");
    let files = [
        "kairos/v1/raft.proto",
        "kairos/v1/cluster.proto",
        "kairos/v1/worker.proto",
    ];
    let paths: Vec<_> = files.iter().map(|f| root.join(f)).collect();
    for path in &paths {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    tonic_prost_build::configure().compile_protos(&paths, &[root])?;
    Ok(())
}
