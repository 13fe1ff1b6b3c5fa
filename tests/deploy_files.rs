//! The cluster files in `deploy/`: the Slurm scripts are valid bash and ask Slurm for requeue and
//! the early SIGTERM; the Kubernetes Jobs parse as YAML (with python3's PyYAML where it is
//! installed) and hold what the shards need (an Indexed Job with per-index retries, `--shard
//! auto` with GRSU_SHARD_COUNT equal to its completions, a grace period longer than the drain);
//! the Dockerfile builds the binary with the README's command. The real Slurm run is
//! deploy/slurm/local-cluster.sh (README, "Run a sweep on Slurm"); the Kubernetes files are not
//! run here.

use std::path::Path;
use std::process::Command;

use grsu_test_support::repository_root;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn the_slurm_scripts_are_valid_bash_and_ask_for_requeue_and_an_early_sigterm() {
    let slurm = repository_root().join("deploy/slurm");
    for name in [
        "sweep.sbatch",
        "merge.sbatch",
        "submit.sh",
        "local-cluster.sh",
    ] {
        let checked = Command::new("bash")
            .arg("-n")
            .arg(slurm.join(name))
            .output()
            .unwrap();
        assert!(
            checked.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&checked.stderr)
        );
    }
    let sweep = read(&slurm.join("sweep.sbatch"));
    for directive in ["#SBATCH --requeue", "#SBATCH --signal=B:TERM@60"] {
        assert!(sweep.lines().any(|line| line == directive), "{directive}");
    }
    assert!(sweep.contains("--shard auto"));
    let submit = read(&slurm.join("submit.sh"));
    assert!(submit.contains("--dependency=\"afterok:$sweep\""));
}

/// The items (`- item` lines) of the first list under a line `key` of `yaml`.
fn list_after(yaml: &str, key: &str) -> Vec<String> {
    let mut lines = yaml.lines().skip_while(|line| line.trim() != key).skip(1);
    let mut items = Vec::new();
    for line in lines.by_ref() {
        match line.trim().strip_prefix("- ") {
            Some(item) => items.push(item.trim_matches('"').to_string()),
            None => break,
        }
    }
    items
}

/// The value of the first `key: value` line.
fn value_of(yaml: &str, key: &str) -> Option<String> {
    yaml.lines().find_map(|line| {
        line.trim()
            .strip_prefix(&format!("{key}:"))
            .map(|value| value.trim().trim_matches('"').to_string())
    })
}

#[test]
fn the_kubernetes_jobs_parse_and_run_the_shards_as_an_indexed_job() {
    let k8s = repository_root().join("deploy/k8s");
    let sweep = read(&k8s.join("sweep-job.yaml"));
    let merge = read(&k8s.join("merge-job.yaml"));

    let python = Command::new("python3")
        .args([
            "-c",
            "import sys, yaml, json\nfor path in sys.argv[1:]:\n    print(json.dumps(list(yaml.safe_load_all(open(path)))))",
        ])
        .arg(k8s.join("sweep-job.yaml"))
        .arg(k8s.join("merge-job.yaml"))
        .output();
    match python {
        Ok(parsed) if parsed.status.success() => {
            let documents: Vec<serde_json::Value> = String::from_utf8(parsed.stdout)
                .unwrap()
                .lines()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect();
            let job = &documents[0][0];
            assert_eq!(job["kind"], "Job");
            let spec = &job["spec"];
            assert_eq!(spec["completionMode"], "Indexed");
            assert!(spec["backoffLimitPerIndex"].as_u64().unwrap() >= 1);
            let pod = &spec["template"]["spec"];
            assert_eq!(pod["restartPolicy"], "Never");
            let container = &pod["containers"][0];
            let count = container["env"]
                .as_array()
                .unwrap()
                .iter()
                .find(|variable| variable["name"] == "GRSU_SHARD_COUNT")
                .expect("GRSU_SHARD_COUNT")["value"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap();
            assert_eq!(Some(count), spec["completions"].as_u64());
            let args: Vec<&str> = container["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|arg| arg.as_str().unwrap())
                .collect();
            assert!(
                args.windows(2).any(|pair| pair == ["--shard", "auto"]),
                "{args:?}"
            );
            assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() > 20);
            assert_eq!(documents[1][0]["kind"], "Job");
        }
        Ok(parsed) => {
            let stderr = String::from_utf8_lossy(&parsed.stderr);
            assert!(
                stderr.contains("No module named 'yaml'"),
                "the Jobs do not parse: {stderr}"
            );
            eprintln!("PyYAML is not installed: the YAML is checked line by line only");
        }
        Err(_) => eprintln!("no python3: the YAML is checked line by line only"),
    }

    // Line by line, without a YAML parser.
    assert_eq!(
        value_of(&sweep, "completionMode").as_deref(),
        Some("Indexed")
    );
    assert!(value_of(&sweep, "backoffLimitPerIndex").is_some());
    let completions = value_of(&sweep, "completions").unwrap();
    let env_count = sweep
        .lines()
        .skip_while(|line| !line.contains("name: GRSU_SHARD_COUNT"))
        .nth(1)
        .and_then(|line| line.trim().strip_prefix("value:"))
        .map(|value| value.trim().trim_matches('"').to_string());
    assert_eq!(env_count.as_deref(), Some(completions.as_str()));
    let args = list_after(&sweep, "args:");
    assert!(
        args.windows(2).any(|pair| pair == ["--shard", "auto"]),
        "{args:?}"
    );
    assert!(merge.contains("grsu merge --into") && merge.contains("grsu report"));
}

#[test]
fn the_dockerfile_builds_with_the_readme_command_into_a_slim_image() {
    let root = repository_root();
    let dockerfile = read(&root.join("deploy/k8s/Dockerfile"));
    let readme = read(&root.join("README.md"));
    let builds: Vec<&str> = dockerfile
        .lines()
        .filter_map(|line| line.strip_prefix("RUN cargo "))
        .collect();
    assert_eq!(builds.len(), 1, "{builds:?}");
    let command = format!("cargo {}", builds[0]);
    let section = readme
        .split("### Run a sweep on Kubernetes")
        .nth(1)
        .expect("README's Kubernetes section");
    assert!(
        section.contains(&command),
        "README's Kubernetes section does not give the Dockerfile's build `{command}`"
    );
    assert!(section.contains("docker build -f deploy/k8s/Dockerfile"));
    // The release binary the build makes is the one the runtime stage copies.
    assert!(command.contains("--release") && command.contains("--bin grsu"));
    assert!(dockerfile.contains("COPY --from=build /src/target/release/grsu /usr/local/bin/grsu"));
    let stages: Vec<&str> = dockerfile
        .lines()
        .filter(|line| line.starts_with("FROM "))
        .collect();
    assert_eq!(stages.len(), 2, "{stages:?}");
    assert!(stages[1].contains("slim"), "{stages:?}");
    // The build image's toolchain is the pinned one.
    let pinned = read(&root.join("rust-toolchain.toml"));
    let pinned: toml::Value = toml::from_str(&pinned).unwrap();
    let channel = pinned["toolchain"]["channel"].as_str().unwrap();
    assert!(
        stages[0].contains(&format!("rust:{channel}")),
        "{stages:?} against {channel}"
    );
}
