//! The end-to-end tests, one binary: each module starts the real binaries against real
//! services and checks what a user sees. One binary links tonic, the client and the helpers
//! once instead of once per file.

mod auth;
mod bad_input;
mod bench;
mod billing;
mod chaos;
mod cluster;
mod control_plane;
mod dashboard;
mod delivery;
mod deploy;
mod dev;
mod faults;
mod fencing;
mod grpcurl;
mod hostile;
mod jobs;
mod leases;
mod lifecycle;
mod metering;
mod metrics;
mod object_store_faults;
mod observability;
mod openapi_fuzz;
mod postgres;
mod produce_consume;
mod quota;
mod read_cache;
mod rebuild;
mod retention;
mod secrets;
mod storage;
mod tls;
mod wire;
