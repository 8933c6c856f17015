//! The `strata` binary.

fn main() -> std::process::ExitCode {
    strata_node::cli::main()
}
