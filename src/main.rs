use clap::Parser;

fn main() {
    let cli = afisha::cli::Cli::parse();
    if let Err(failure) = afisha::cli::run(cli) {
        eprintln!("afisha: {}", failure.message);
        std::process::exit(failure.code);
    }
}
