//! Generates the gRPC code from `proto/`. Needs `protoc`: Debian's
//! `protobuf-compiler` (README's setup and `.ci/run` install it), or `PROTOC` set.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
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
