//! What `check` found: one finding per check, and how the report prints.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Worth knowing; not wrong.
    Note,
    Problem,
}

/// One check's outcome: `area` is `file`, `provider` or `database`.
#[derive(Debug, Clone)]
pub struct Finding {
    pub verdict: Verdict,
    pub area: &'static str,
    pub message: String,
    /// How to fix a problem.
    pub fix: Option<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = match self.verdict {
            Verdict::Ok => "ok",
            Verdict::Note => "note",
            Verdict::Problem => "PROBLEM",
        };
        write!(f, "{verdict:<8} {:<9} {}", self.area, self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n{:18} fix: {fix}", "")?;
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn has_problems(&self) -> bool {
        self.findings.iter().any(|f| f.verdict == Verdict::Problem)
    }

    pub fn problems(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.verdict == Verdict::Problem)
    }

    fn add(&mut self, verdict: Verdict, area: &'static str, message: String, fix: Option<String>) {
        self.findings.push(Finding {
            verdict,
            area,
            message,
            fix,
        });
    }

    pub(super) fn ok(&mut self, area: &'static str, message: impl Into<String>) {
        self.add(Verdict::Ok, area, message.into(), None);
    }

    pub(super) fn note(&mut self, area: &'static str, message: impl Into<String>) {
        self.add(Verdict::Note, area, message.into(), None);
    }

    pub(super) fn problem(&mut self, area: &'static str, message: impl Into<String>, fix: impl Into<String>) {
        self.add(Verdict::Problem, area, message.into(), Some(fix.into()));
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            writeln!(f, "{finding}")?;
        }
        let problems = self.problems().count();
        match problems {
            0 => write!(f, "all checks passed"),
            1 => write!(f, "1 problem"),
            n => write!(f, "{n} problems"),
        }
    }
}

/// An error and what caused it, e.g. "error sending request: client error (Connect): tcp connect
/// error: Connection refused (os error 111)".
pub(super) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
