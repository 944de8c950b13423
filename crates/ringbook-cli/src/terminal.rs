//! The terminal the CLI talks to: whether someone is there to answer, asking them, and keeping
//! other people's text from driving it.

use std::io::IsTerminal;

/// Someone can answer a question: stdin and stderr are both a terminal.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks a question on the terminal and reads one line.
pub fn prompt(question: &str) -> anyhow::Result<String> {
    use std::io::Write;
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

/// Text from other people, made safe to print: control characters (escape sequences that
/// could drive the terminal) become `�`, line breaks a visible `⏎`.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' => '⏎',
            c if c.is_control() => '�',
            c => c,
        })
        .collect()
}
