//! `hoviat-archive ARGS` = `hoviat archive ARGS`.
fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    hoviat_archive::cli::run(&args)
}
