//! The command line every Skep program shares: `--config FILE`, `--check-config FILE`, `--help`,
//! `--version`, plus positional arguments a program may give meaning to (`skep backup DIR`).
//!
//! [`start`] is the one entry: a binary's `main` calls it with its [`Program`] and gets either the
//! loaded configuration to run with, or an exit code once help, the version or a configuration
//! check has been printed. Keeping this here means the services do not each re-implement it.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::de::DeserializeOwned;

use crate::ConfigError;
use crate::keys::keys;
use crate::layers::{load_table, read_table};

/// What a program says about itself for `--help`, and the checks serde cannot make.
pub struct Program<T> {
    /// The binary's name (`skep-cases`).
    pub name: &'static str,
    /// The version printed by `--version`.
    pub version: &'static str,
    /// One line saying what the program is.
    pub summary: &'static str,
    /// Positional commands the program accepts, as `(usage, meaning)` pairs shown in `--help`,
    /// e.g. `("backup DEST-DIR", "copy every store file, consistently, while the services run")`.
    pub commands: &'static [(&'static str, &'static str)],
    /// Checks of a loaded configuration that deserialization cannot make (ranges, paths that
    /// must exist, URLs); each problem names its key. Run by `--check-config` and before start.
    pub validate: fn(&T) -> Vec<ConfigError>,
}

/// A configuration to run with, and the positional arguments left for the program.
#[derive(Debug)]
pub struct Started<T> {
    /// The loaded, validated configuration.
    pub config: T,
    /// The configuration file used, if any.
    pub file: Option<PathBuf>,
    /// Positional arguments (a command and its operands), in order.
    pub arguments: Vec<String>,
}

/// The parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Invocation {
    Run {
        file: Option<PathBuf>,
        arguments: Vec<String>,
    },
    Check(PathBuf),
    Help,
    Version,
}

fn parse(args: &[String]) -> Result<Invocation, String> {
    let mut file = None;
    let mut check = None;
    let mut arguments = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let value = |rest: &mut std::slice::Iter<'_, String>| {
            rest.next()
                .map(PathBuf::from)
                .ok_or_else(|| format!("{arg} needs a file"))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(Invocation::Help),
            "-V" | "--version" => return Ok(Invocation::Version),
            "--config" => file = Some(value(&mut rest)?),
            "--check-config" => check = Some(value(&mut rest)?),
            other if other.starts_with("--config=") => {
                file = Some(PathBuf::from(&other["--config=".len()..]));
            }
            other if other.starts_with("--check-config=") => {
                check = Some(PathBuf::from(&other["--check-config=".len()..]));
            }
            other if other.starts_with('-') && other != "-" => {
                return Err(format!("unknown option `{other}`"));
            }
            other => arguments.push(other.to_owned()),
        }
    }
    match check {
        Some(path) => Ok(Invocation::Check(path)),
        None => Ok(Invocation::Run { file, arguments }),
    }
}

/// Reads the command line `args` (without the program name) and the environment `env`:
///
/// - `--help`, `--version`: prints to stdout, returns `Err(ExitCode::SUCCESS)`;
/// - `--check-config FILE`: loads FILE with the `SKEP_*` variables of `env`, prints `FILE: ok` or
///   every problem found (each naming its key) and returns `Err` with code 0 or 1, never starting;
/// - otherwise: loads the configuration (`--config FILE`, else `SKEP_CONFIG`, else defaults),
///   validates it, and returns it; a problem is printed and returns `Err(1)`.
///
/// Usage errors print the usage and return `Err(2)`.
pub fn start<T: DeserializeOwned>(
    program: &Program<T>,
    args: impl IntoIterator<Item = String>,
    env: &HashMap<String, String>,
) -> Result<Started<T>, ExitCode> {
    let args: Vec<String> = args.into_iter().collect();
    let invocation = match parse(&args) {
        Ok(invocation) => invocation,
        Err(message) => {
            eprintln!("{}: {message}\n\n{}", program.name, usage(program));
            return Err(ExitCode::from(2));
        }
    };
    match invocation {
        Invocation::Help => {
            print_stdout(&help(program));
            Err(ExitCode::SUCCESS)
        }
        Invocation::Version => {
            print_stdout(&format!("{} {}\n", program.name, program.version));
            Err(ExitCode::SUCCESS)
        }
        Invocation::Check(path) => {
            let problems = check_file(program, &path, env);
            if problems.is_empty() {
                print_stdout(&format!("{}: ok\n", path.display()));
                Err(ExitCode::SUCCESS)
            } else {
                for problem in &problems {
                    eprintln!("{}: {problem}", path.display());
                }
                eprintln!(
                    "{}: {} problem(s); nothing was started",
                    path.display(),
                    problems.len()
                );
                Err(ExitCode::FAILURE)
            }
        }
        Invocation::Run { file, arguments } => {
            let loaded =
                crate::load::<T>(file.as_deref(), env).and_then(|config| {
                    match (program.validate)(&config).into_iter().next() {
                        Some(problem) => Err(problem),
                        None => Ok(config),
                    }
                });
            match loaded {
                Ok(config) => Ok(Started {
                    config,
                    file,
                    arguments,
                }),
                Err(problem) => {
                    eprintln!("{}: configuration: {problem}", program.name);
                    Err(ExitCode::FAILURE)
                }
            }
        }
    }
}

/// Every problem of the configuration in `path` (with the variables of `env`): each failing key is
/// reported, then taken out so the keys after it are checked too; a file that loads is then
/// validated by the program's own checks.
pub fn check_file<T: DeserializeOwned>(
    program: &Program<T>,
    path: &Path,
    env: &HashMap<String, String>,
) -> Vec<ConfigError> {
    let mut table = match read_table(path) {
        Ok(table) => table,
        Err(error) => return vec![error],
    };
    let mut problems = Vec::new();
    // Each round removes one key from the table, so this ends; the bound is a safety net.
    for _ in 0..1000 {
        match load_table::<T>(&table, env) {
            Ok(config) => {
                problems.extend((program.validate)(&config));
                return problems;
            }
            Err(error) => {
                let removed = error.key().is_some_and(|key| remove_key(&mut table, key));
                problems.push(error);
                if !removed {
                    return problems;
                }
            }
        }
    }
    problems
}

/// Removes a dotted key from a table; `false` when the table has no such key (it came from a
/// variable, or is missing).
fn remove_key(table: &mut config::Map<String, config::Value>, key: &str) -> bool {
    match key.split_once('.') {
        None => table.remove(key).is_some(),
        Some((head, rest)) => match table.get_mut(head).map(|value| &mut value.kind) {
            Some(config::ValueKind::Table(inner)) => remove_key(inner, rest),
            _ => false,
        },
    }
}

fn print_stdout(text: &str) {
    // A closed stdout (`| head`) is not worth a panic.
    let _ = std::io::stdout().write_all(text.as_bytes());
}

fn usage<T>(program: &Program<T>) -> String {
    let name = program.name;
    let mut text = format!("Usage: {name} [--config FILE]\n");
    for (command, _) in program.commands {
        text.push_str(&format!("       {name} [--config FILE] {command}\n"));
    }
    text.push_str(&format!(
        "       {name} --check-config FILE\n       {name} --help | --version\n"
    ));
    text
}

/// The `--help` text: usage, options, commands, and every configuration key with its variable.
pub fn help<T: DeserializeOwned>(program: &Program<T>) -> String {
    let mut text = format!(
        "{} {}: {}\n\n{}\nOptions:\n",
        program.name,
        program.version,
        program.summary,
        usage(program)
    );
    let options = [
        (
            "--config FILE",
            "read the configuration from FILE (TOML); default: $SKEP_CONFIG, else built-in defaults",
        ),
        (
            "--check-config FILE",
            "check FILE with the SKEP_* variables set, print every problem with its key, exit 1 if any; starts nothing",
        ),
        ("-h, --help", "print this help"),
        ("-V, --version", "print the version"),
    ];
    for (option, meaning) in options {
        text.push_str(&format!("  {option:<22} {meaning}\n"));
    }
    if !program.commands.is_empty() {
        text.push_str("\nCommands:\n");
        for (command, meaning) in program.commands {
            text.push_str(&format!("  {command:<22} {meaning}\n"));
        }
    }
    text.push_str(
        "\nConfiguration keys (TOML key, then the variable that overrides it; each is described in\n\
         docs/configuration.md):\n",
    );
    let keys: Vec<_> = keys::<T>()
        .into_iter()
        .filter(|key| key.is_leaf())
        .collect();
    let width = keys.iter().map(|key| key.path.len()).max().unwrap_or(0);
    for key in keys {
        let variable = key.variable().unwrap_or_else(|| "(file only)".to_owned());
        text.push_str(&format!("  {:<width$}  {variable}\n", key.path));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HttpConfig, StoreConfig};
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Default)]
    #[serde(deny_unknown_fields, default)]
    struct Sample {
        http: HttpConfig,
        store: StoreConfig,
        threads: u32,
    }

    fn validate(config: &Sample) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        if config.threads > 64 {
            problems.push(ConfigError::InvalidValue {
                key: "threads".into(),
                message: "at most 64".into(),
            });
        }
        problems.extend(config.http.validate().err());
        problems
    }

    const PROGRAM: Program<Sample> = Program {
        name: "skep-sample",
        version: "0.0.1",
        summary: "a sample",
        commands: &[("backup DIR", "copies")],
        validate,
    };

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| (*arg).to_owned()).collect()
    }

    fn toml_file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn options_and_positional_arguments_are_told_apart() {
        assert_eq!(
            parse(&args(&["--config", "a.toml", "backup", "/tmp/x"])),
            Ok(Invocation::Run {
                file: Some("a.toml".into()),
                arguments: args(&["backup", "/tmp/x"]),
            })
        );
        assert_eq!(
            parse(&args(&["--check-config=b.toml"])),
            Ok(Invocation::Check("b.toml".into()))
        );
        assert_eq!(parse(&args(&["x", "-h"])), Ok(Invocation::Help));
        assert!(parse(&args(&["--config"])).is_err());
        assert!(parse(&args(&["--colour"])).is_err());
    }

    #[test]
    fn help_lists_the_options_commands_and_every_key_with_its_variable() {
        let text = help(&PROGRAM);

        for expected in [
            "--check-config FILE",
            "--config FILE",
            "backup DIR",
            "SKEP_HTTP__PORT",
            "store.elasticsearch.tls_ca_file",
            "threads",
        ] {
            assert!(text.contains(expected), "{expected} missing from:\n{text}");
        }
    }

    #[test]
    fn a_check_names_every_bad_key_not_only_the_first() {
        let file = toml_file(
            "threads = \"many\"\n[http]\nport = 70000\nhots = \"x\"\n[store]\nbackend = \"mysql\"\n",
        );

        let problems = check_file(&PROGRAM, file.path(), &HashMap::new());

        let keys: Vec<Option<&str>> = problems.iter().map(ConfigError::key).collect();
        for key in ["threads", "http.port", "http.hots", "store.backend"] {
            assert!(keys.contains(&Some(key)), "{key} not in {problems:?}");
        }
        assert_eq!(problems.len(), 4, "{problems:?}");
    }

    #[test]
    fn a_check_runs_the_programs_own_validation_once_the_file_loads() {
        let file = toml_file("threads = 100\n[http]\nhost = \" \"\n");

        let problems = check_file(&PROGRAM, file.path(), &HashMap::new());

        let keys: Vec<Option<&str>> = problems.iter().map(ConfigError::key).collect();
        assert_eq!(keys, [Some("threads"), Some("http.host")]);
    }

    #[test]
    fn a_good_file_has_no_problem_and_a_missing_one_is_named() {
        let file = toml_file("threads = 4\n[http]\nport = 8080\n");

        assert!(check_file(&PROGRAM, file.path(), &HashMap::new()).is_empty());
        let missing = check_file(&PROGRAM, Path::new("/nonexistent.toml"), &HashMap::new());
        assert!(
            matches!(missing[..], [ConfigError::File { .. }]),
            "{missing:?}"
        );
    }

    #[test]
    fn a_bad_variable_is_reported_by_the_check_too() {
        let file = toml_file("threads = 4\n");
        let env = HashMap::from([("SKEP_HTTP__PORT".to_owned(), "eighty".to_owned())]);

        let problems = check_file(&PROGRAM, file.path(), &env);

        assert_eq!(problems.len(), 1);
        assert!(problems[0].to_string().contains("SKEP_HTTP__PORT"));
    }

    #[test]
    fn start_returns_the_configuration_and_the_command() {
        let file = toml_file("threads = 3\n");
        let path = file.path().to_str().unwrap();

        let started = start(
            &PROGRAM,
            args(&["--config", path, "backup", "/b"]),
            &HashMap::new(),
        )
        .unwrap();

        assert_eq!(started.config.threads, 3);
        assert_eq!(started.arguments, args(&["backup", "/b"]));
        assert!(start(&PROGRAM, args(&["--help"]), &HashMap::new()).is_err());
    }
}
