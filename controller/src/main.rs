//! The `fleetfit-controller` binary. For now it only answers `--help` and `--version`: it
//! cannot run against a cluster yet, and says so rather than pretending.

use std::process::ExitCode;

const HELP: &str = "\
fleetfit-controller: provisions and consolidates the nodes of a Kubernetes cluster at least
cost, with fleetfit's engine (Karpenter-compatible NodePools).

This build cannot run against a cluster yet: the Kubernetes watches, NodeClaim
reconcilers and EC2 launches are not implemented. The `fleetfit` CLI plans with the
same engine.

Usage: fleetfit-controller [--help | --version]

Options:
  -h, --help     Print this help
  -V, --version  Print the version
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["-h" | "--help"] => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        ["-V" | "--version"] => {
            println!("fleetfit-controller {}", fleetfit_controller::VERSION);
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "fleetfit-controller {}: cannot run against a cluster yet (not implemented).\n\
                 Run `fleetfit-controller --help` for what this build can do.",
                fleetfit_controller::VERSION
            );
            ExitCode::from(2)
        }
    }
}
