//! The binary's flags: mistakes are told before anything starts, naming the flag.

use std::process::Command;

fn controller(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetfit-controller"))
        .args(args)
        // No cluster to reach: the checks must come before any connection.
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("the controller binary runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
#[cfg(not(feature = "aws"))]
fn a_build_without_the_aws_feature_says_so() {
    let (ok, stderr) = controller(&["--provider", "aws", "--metrics-address", "127.0.0.1:0"]);
    assert!(!ok);
    assert!(stderr.contains("this build has no EC2 provider (build with `--features aws`)"), "{stderr}");
}

#[test]
#[cfg(feature = "aws")]
fn the_aws_provider_needs_what_nodes_join_with() {
    let (ok, stderr) = controller(&["--provider", "aws", "--metrics-address", "127.0.0.1:0"]);
    assert!(!ok);
    assert!(stderr.contains("--provider aws needs --cluster-endpoint (or CLUSTER_ENDPOINT)"), "{stderr}");
    let (ok, stderr) = controller(&[
        "--provider",
        "aws",
        "--cluster-endpoint",
        "https://10.0.0.1",
        "--cluster-ca-bundle",
        "Q0E=",
        "--metrics-address",
        "127.0.0.1:0",
    ]);
    assert!(!ok);
    assert!(stderr.contains("--cluster-cidr"), "{stderr}");
}

#[test]
fn a_bad_flag_value_is_refused_with_the_flag() {
    let (ok, stderr) = controller(&["--batch-idle-duration", "soon"]);
    assert!(!ok);
    assert!(stderr.contains("--batch-idle-duration"), "{stderr}");
    let (ok, stderr) = controller(&["--provider", "gce"]);
    assert!(!ok);
    assert!(stderr.contains("'gce'") && stderr.contains("aws") && stderr.contains("kwok"), "{stderr}");
}
