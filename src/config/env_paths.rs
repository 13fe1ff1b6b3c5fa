//! `${NAME}` and `${NAME:-default}` in the paths of a config, so that one config file serves
//! every machine of a cluster: `path = "${GRSU_DATA:-../data}/redial/test_data_processed.jsonl"`.
//! Expansion happens before relative paths are resolved against the config's folder.

use std::path::PathBuf;

/// Expands the environment references of `path`; an unset variable without a default is an
/// error naming it.
pub fn expand_env_path(path: &std::path::Path) -> Result<PathBuf, String> {
    let Some(text) = path.to_str() else {
        return Ok(path.to_path_buf());
    };
    expand_with(text, |name| std::env::var(name).ok()).map(PathBuf::from)
}

fn expand_with(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut expanded = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        expanded.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("`{text}`: `${{` without a closing `}}`"))?;
        let reference = &after[..end];
        let (name, default) = match reference.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (reference, None),
        };
        let value = lookup(name)
            .filter(|value| !value.is_empty())
            .or_else(|| default.map(str::to_string))
            .ok_or_else(|| {
                format!("`{text}`: environment variable {name} is not set (and has no default)")
            })?;
        expanded.push_str(&value);
        rest = &after[end + 1..];
    }
    expanded.push_str(rest);
    Ok(expanded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        (name == "DATA").then(|| "/srv/data".to_string())
    }

    #[test]
    fn references_expand_with_values_and_defaults() {
        assert_eq!(
            expand_with("${DATA}/a.json", lookup).unwrap(),
            "/srv/data/a.json"
        );
        assert_eq!(expand_with("${NONE:-../d}/a", lookup).unwrap(), "../d/a");
        assert_eq!(
            expand_with("${DATA:-../d}/a", lookup).unwrap(),
            "/srv/data/a"
        );
        assert_eq!(expand_with("plain/path", lookup).unwrap(), "plain/path");
    }

    #[test]
    fn an_unset_variable_without_default_is_named() {
        let error = expand_with("${NONE}/a", lookup).unwrap_err();
        assert!(error.contains("NONE is not set"), "{error}");
        assert!(expand_with("${DATA/a", lookup).is_err());
    }
}
