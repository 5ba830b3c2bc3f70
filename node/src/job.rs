//! `joule job run`: try a job locally, with the same engine and limits a provider uses, before
//! paying for it.

use anyhow::{Context, bail};
use joule_vm::{ExecError, Limits, Outcome, Status, Vm, VmConfig};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `joule job …`: work with job modules locally.
#[derive(Debug, clap::Args)]
pub struct JobArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: JobCommand,
}

/// The `joule job` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum JobCommand {
    /// Run a job module locally with the provider's engine and print its outcome.
    Run(RunArgs),
}

/// `joule job run MODULE.wasm [--input FILE | --input-hex HEX] [--fuel N] [--out FILE] [--json]`.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Job")]
pub struct RunArgs {
    /// The job module (a .wasm file following the Joule job ABI).
    pub module: PathBuf,
    /// Read the job input from this file.
    #[arg(long, value_name = "FILE", conflicts_with = "input_hex")]
    pub input: Option<PathBuf>,
    /// The job input as hex (an optional 0x prefix is allowed).
    #[arg(long = "input-hex", value_name = "HEX")]
    pub input_hex: Option<String>,
    /// Fuel limit.
    #[arg(long, value_name = "N", default_value_t = Limits::default().fuel)]
    pub fuel: u64,
    /// Write the job output to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `joule job` command, printing to stdout.
pub fn run(args: JobArgs) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    run_to(args, &mut stdout.lock())
}

/// Runs a `joule job` command, printing to `w`.
pub fn run_to(args: JobArgs, w: &mut impl Write) -> anyhow::Result<()> {
    match args.command {
        JobCommand::Run(args) => run_job(args, w),
    }
}

fn read_input(args: &RunArgs) -> anyhow::Result<Vec<u8>> {
    read_input_from(args.input.as_deref(), args.input_hex.as_deref())
}

/// A job input from `--input FILE` or `--input-hex HEX` (an optional 0x prefix), empty if
/// neither is given.
pub(crate) fn read_input_from(file: Option<&Path>, hex: Option<&str>) -> anyhow::Result<Vec<u8>> {
    if let Some(path) = file {
        return std::fs::read(path).with_context(|| format!("reading input {}", path.display()));
    }
    if let Some(text) = hex {
        let digits = text.trim().trim_start_matches("0x");
        return hex::decode(digits).context("--input-hex is not valid hex");
    }
    Ok(Vec::new())
}

fn run_job(args: RunArgs, w: &mut impl Write) -> anyhow::Result<()> {
    let wasm = std::fs::read(&args.module)
        .with_context(|| format!("reading module {}", args.module.display()))?;
    let input = read_input(&args)?;
    let limits = Limits::with_fuel(args.fuel);
    let vm = Vm::with_config(VmConfig::default()).context("starting the VM")?;

    let started = Instant::now();
    let job = match vm.prepare(&wasm) {
        Ok(job) => job,
        Err(ExecError::Invalid(e)) => bail!("invalid module {}: {e}", args.module.display()),
        Err(e) => return Err(e).context("preparing the module"),
    };
    let compile_time = started.elapsed();
    let started = Instant::now();
    let outcome = vm.run(&job, &input, &limits).context("running the job")?;
    let wall_time = started.elapsed();

    if let Some(path) = &args.out {
        std::fs::write(path, &outcome.output)
            .with_context(|| format!("writing output {}", path.display()))?;
    }
    let report = Report {
        code_hash: job.code_hash(),
        outcome: &outcome,
        limits,
        wall_time,
        compile_time,
    };
    if args.json {
        writeln!(w, "{}", report.json())?;
    } else {
        report.table(w)?;
    }
    Ok(())
}

/// A machine-readable name for each status.
fn status_kind(status: &Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Trap(_) => "trap",
        Status::OutOfFuel => "out_of_fuel",
        Status::MemoryLimit => "memory_limit",
        Status::TableLimit => "table_limit",
        Status::OutputTooLarge => "output_too_large",
        Status::Aborted(_) => "aborted",
    }
}

struct Report<'a> {
    code_hash: joule_vm::Hash32,
    outcome: &'a Outcome,
    limits: Limits,
    wall_time: Duration,
    compile_time: Duration,
}

impl Report<'_> {
    fn json(&self) -> serde_json::Value {
        let o = self.outcome;
        serde_json::json!({
            "status": status_kind(&o.status),
            "detail": o.status.to_string(),
            "fuel_used": o.fuel_used,
            "fuel_limit": self.limits.fuel,
            "output_hash": o.output_hash.to_string(),
            "output_size": o.output.len(),
            "code_hash": self.code_hash.to_string(),
            "wall_time_us": self.wall_time.as_micros() as u64,
            "compile_time_us": self.compile_time.as_micros() as u64,
        })
    }

    fn table(&self, w: &mut impl Write) -> std::io::Result<()> {
        let o = self.outcome;
        writeln!(w, "status       {}", o.status)?;
        writeln!(w, "fuel used    {} of {}", o.fuel_used, self.limits.fuel)?;
        writeln!(w, "output hash  {}", o.output_hash)?;
        writeln!(w, "output size  {} bytes", o.output.len())?;
        writeln!(w, "code hash    {}", self.code_hash)?;
        writeln!(
            w,
            "wall time    {:.3} ms (compile {:.3} ms)",
            ms(self.wall_time),
            ms(self.compile_time)
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        job: JobArgs,
    }

    #[test]
    fn no_flags_gives_the_defaults() {
        let cli = Cli::try_parse_from(["joule", "run", "m.wasm"]).expect("parses");
        let JobCommand::Run(run) = cli.job.command;
        assert_eq!(run.module, PathBuf::from("m.wasm"));
        assert_eq!(run.fuel, Limits::default().fuel);
        assert!(run.input.is_none() && run.input_hex.is_none() && run.out.is_none());
        assert!(!run.json);
    }

    #[test]
    fn input_file_and_hex_conflict() {
        let r = Cli::try_parse_from([
            "joule",
            "run",
            "m.wasm",
            "--input",
            "f",
            "--input-hex",
            "00",
        ]);
        assert!(r.is_err());
    }

    #[test]
    fn runs_an_example_and_reports_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let module = dir.path().join("primes.wasm");
        std::fs::write(&module, joule_vm::examples::PRIMES).expect("write module");
        let args = JobArgs {
            command: JobCommand::Run(RunArgs {
                module,
                input: None,
                input_hex: Some("0x10270000".into()),
                fuel: 50_000_000,
                out: None,
                json: true,
            }),
        };
        let mut out = Vec::new();
        run_to(args, &mut out).expect("runs");
        let v: serde_json::Value = serde_json::from_slice(&out).expect("one JSON object");
        assert_eq!(v["status"], "ok");
        assert_eq!(v["output_size"], 16);
        assert_eq!(v["fuel_limit"], 50_000_000);
    }
}
