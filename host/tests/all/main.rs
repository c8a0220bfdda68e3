//! Integration tests: real guests, built from source in this repository,
//! run by the real host against real sockets on loopback.

mod common;

mod activation;
mod async_guests;
mod blocking;
mod c_handler;
mod c_programs;
mod cli;
mod client;
mod conformance;
mod counting;
mod holes;
mod http_server;
mod hyper_handler;
mod kv;
mod limits;
mod misuse;
mod p3_echo;
mod policy_cli;
mod providers;
mod sdk_net;
mod serve;
mod sim;
mod socks5;
mod tokio_echo;
mod tokio_hyper;
mod urgent;
mod wasi_sockets;
