//! The command line: which command, its options and the config file. `main.rs` runs what this
//! parses.

use std::path::PathBuf;

pub const USAGE: &str = "\
usage: issues-app [--config FILE]                      serve
       issues-app check [--config FILE]                check the configuration, the identity
                                                       provider and the database without serving;
                                                       exits 1 on any problem
       issues-app backup --to BACKUP [--config FILE]   a consistent copy of the SQLite database,
                                                       also while the app serves
       issues-app export [--audit] [--to FILE] [--config FILE]
                                                       issues, comments and people (and the audit
                                                       trail) as JSON Lines, to FILE or stdout
       issues-app import [--into-non-empty] FROM [--config FILE]
                                                       an export into this database (FROM `-`:
                                                       stdin); an empty database unless told
       issues-app forget-person SUB [--config FILE]    replace the name of the person with that
                                                       subject id everywhere (audited)
FILE defaults to $ISSUES_APP_CONFIG, else ./config.json";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Serve,
    Check,
    Backup { to: PathBuf },
    Export { audit: bool, to: Option<PathBuf> },
    Import { from: PathBuf, into_non_empty: bool },
    ForgetPerson { sub: String },
}

/// The command and the config file; `None` for `--help`.
pub fn parse_args(
    mut args: impl Iterator<Item = String>,
    config_from_env: Option<String>,
) -> Result<Option<(Command, PathBuf)>, String> {
    let mut config_path = PathBuf::from(config_from_env.unwrap_or_else(|| "config.json".into()));
    let mut command: Option<Command> = None;
    let (mut audit, mut into_non_empty) = (false, false);
    let mut to: Option<PathBuf> = None;
    let mut operand: Option<String> = None;
    let usage = |problem: String| format!("{problem}\n{USAGE}");
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| usage(format!("`{name}` needs a value")));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--config" => config_path = value("--config")?.into(),
            "--to" => to = Some(value("--to")?.into()),
            "--audit" => audit = true,
            "--into-non-empty" => into_non_empty = true,
            "check" | "backup" | "export" | "import" | "forget-person" if command.is_none() => {
                command = Some(match arg.as_str() {
                    "check" => Command::Check,
                    "backup" => Command::Backup { to: PathBuf::new() },
                    "export" => Command::Export { audit: false, to: None },
                    "import" => Command::Import {
                        from: PathBuf::new(),
                        into_non_empty: false,
                    },
                    _ => Command::ForgetPerson { sub: String::new() },
                })
            }
            other if (other == "-" || !other.starts_with('-')) && operand.is_none() && command.is_some() => {
                operand = Some(other.to_string())
            }
            other => return Err(usage(format!("unknown argument `{other}`"))),
        }
    }
    let command = match command.unwrap_or(Command::Serve) {
        Command::Backup { .. } => Command::Backup {
            to: to.take().ok_or_else(|| usage("`backup` needs `--to BACKUP`".into()))?,
        },
        Command::Export { .. } => Command::Export { audit, to: to.take() },
        Command::Import { .. } => Command::Import {
            from: operand
                .take()
                .ok_or_else(|| usage("`import` needs the file to read (`-`: stdin)".into()))?
                .into(),
            into_non_empty,
        },
        Command::ForgetPerson { .. } => Command::ForgetPerson {
            sub: operand
                .take()
                .ok_or_else(|| usage("`forget-person` needs the person's subject id (`sub`)".into()))?,
        },
        other => other,
    };
    let unused = [
        to.map(|_| "`--to`".to_string()),
        operand.map(|operand| format!("`{operand}`")),
        (audit && !matches!(command, Command::Export { .. })).then(|| "`--audit`".to_string()),
        (into_non_empty && !matches!(command, Command::Import { .. })).then(|| "`--into-non-empty`".to_string()),
    ];
    if let Some(extra) = unused.into_iter().flatten().next() {
        return Err(usage(format!("{extra} does not go with this command")));
    }
    Ok(Some((command, config_path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Option<(Command, PathBuf)>, String> {
        parse_args(line.split_whitespace().map(str::to_string), None)
    }

    #[test]
    fn each_command_with_its_options() {
        let config = PathBuf::from("config.json");
        assert_eq!(parse(""), Ok(Some((Command::Serve, config.clone()))));
        assert_eq!(
            parse("--config /etc/a.json"),
            Ok(Some((Command::Serve, "/etc/a.json".into())))
        );
        assert_eq!(parse("check"), Ok(Some((Command::Check, config.clone()))));
        assert_eq!(
            parse("backup --to b.db --config c.json"),
            Ok(Some((Command::Backup { to: "b.db".into() }, "c.json".into())))
        );
        assert_eq!(
            parse("export --audit --to team.jsonl"),
            Ok(Some((
                Command::Export {
                    audit: true,
                    to: Some("team.jsonl".into())
                },
                config.clone()
            )))
        );
        assert_eq!(
            parse("export"),
            Ok(Some((Command::Export { audit: false, to: None }, config.clone())))
        );
        // `-`: standard input.
        assert_eq!(
            parse("import - --into-non-empty"),
            Ok(Some((
                Command::Import {
                    from: "-".into(),
                    into_non_empty: true
                },
                config.clone()
            )))
        );
        assert_eq!(
            parse("forget-person abc-123"),
            Ok(Some((Command::ForgetPerson { sub: "abc-123".into() }, config)))
        );
        assert_eq!(parse("--help"), Ok(None));
        assert_eq!(
            parse_args(std::iter::empty(), Some("from-env.json".into())),
            Ok(Some((Command::Serve, "from-env.json".into())))
        );
    }

    #[test]
    fn a_mistake_is_named_with_the_usage() {
        for (line, said) in [
            ("backup", "`backup` needs `--to BACKUP`"),
            ("import", "`import` needs the file to read (`-`: stdin)"),
            ("forget-person", "`forget-person` needs the person's subject id (`sub`)"),
            ("check --audit", "`--audit` does not go with this command"),
            (
                "export --into-non-empty",
                "`--into-non-empty` does not go with this command",
            ),
            ("check --to x", "`--to` does not go with this command"),
            ("serve", "unknown argument `serve`"),
            ("check check", "`check` does not go with this command"),
            ("backup --to a.db b.db", "`b.db` does not go with this command"),
            ("export --to", "`--to` needs a value"),
        ] {
            let error = parse(line).unwrap_err();
            assert!(error.starts_with(said) && error.ends_with(USAGE), "{line}: {error}");
        }
    }
}
