//! Generates the gRPC code from `streamhouse/v1/*.proto` (the API) and
//! `streamhouse/internal/v1/*.proto` (agent to agent) with a vendored `protoc`, so no
//! system protoc is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    // Record payloads as `Bytes`: decoded without copying, shared with the agent's batches.
    config.bytes(["."]);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("streamhouse_descriptor.bin"))
        .compile_with_config(
            config,
            &[
                "streamhouse/v1/streamhouse.proto",
                "streamhouse/internal/v1/internal.proto",
            ],
            &["."],
        )?;
    println!("cargo:rerun-if-changed=streamhouse");
    Ok(())
}
