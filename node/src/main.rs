//! The `joule` command. Everything testable lives in the `joule_node` library.

fn main() -> std::process::ExitCode {
    joule_node::cli::run()
}
