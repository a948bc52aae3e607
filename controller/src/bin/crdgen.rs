//! `fleetfit-crdgen`: prints the CRDs of the APIs the controller serves (Karpenter's NodePool,
//! NodeClaim and EC2NodeClass), generated from the Rust types in `fleetfit_controller::crds`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const HELP: &str = "\
fleetfit-crdgen: the CRDs fleetfit's controller serves (karpenter.sh/v1 NodePool and
NodeClaim, karpenter.k8s.aws/v1 EC2NodeClass), generated from its Rust types.

Usage: fleetfit-crdgen [--out DIR]

With no option, prints the three CRDs as one multi-document YAML stream.

Options:
      --out DIR  Write karpenter.sh_nodepools.yaml, karpenter.sh_nodeclaims.yaml and
                 karpenter.k8s.aws_ec2nodeclasses.yaml to DIR (which must exist)
  -h, --help     Print this help
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        [] => print_all(),
        ["-h" | "--help"] => {
            print!("{HELP}");
            Ok(())
        }
        ["--out", dir] => write_files(Path::new(dir)),
        [flag] if flag.starts_with("--out=") => write_files(Path::new(&flag["--out=".len()..])),
        ["--out"] => Err("--out needs a directory".to_owned()),
        _ => {
            eprintln!("fleetfit-crdgen: unexpected arguments {:?}\n\n{HELP}", args.join(" "));
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fleetfit-crdgen: {message}");
            ExitCode::FAILURE
        }
    }
}

fn print_all() -> Result<(), String> {
    use std::io::Write;
    let yaml = fleetfit_controller::crds::all_yaml().map_err(|e| format!("cannot write the CRDs as YAML: {e}"))?;
    match std::io::stdout().write_all(yaml.as_bytes()) {
        // The reader stopped early (`| head`): nothing left to tell it.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.map_err(|e| format!("cannot write to stdout: {e}")),
    }
}

fn write_files(dir: &Path) -> Result<(), String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    for file in fleetfit_controller::crds::crds() {
        let path: PathBuf = dir.join(file.file_name);
        let yaml = fleetfit_controller::crds::to_yaml(&file.crd)
            .map_err(|e| format!("cannot write {} as YAML: {e}", file.file_name))?;
        std::fs::write(&path, yaml).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
