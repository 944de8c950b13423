//! The chat screen's state, apart from any terminal: the open conversation, the input line,
//! the scroll position, the status line, and what a key or a typed line means. The terminal
//! loop ([`super::tui`]) feeds it keys and link events and draws it ([`super::view`]); tests
//! drive it directly.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ringbook_client::messaging::ChatRow;
use ringbook_proto::presence::PresenceInfo;
use std::collections::HashMap;
use tokio::time::Instant;

/// The chat commands, shown by `/help`.
pub const HELP: &[&str] = &[
    "Commands (never sent as messages):",
    "  /help            this help (any key closes it)",
    "  /switch NUMBER   chat with another number",
    "  /quit            leave (also Ctrl-C, or Ctrl-D on an empty line)",
    "  //text           send a line that starts with /",
    "Keys: Enter sends · PageUp/PageDown scroll back · Up/Down one line · Esc back to the end",
    "      Ctrl-U clears the line · Ctrl-W deletes a word · Home/End, Left/Right move",
    "Ticks: ✓ stored by the server · ✓✓ delivered · ✓✓ read · … waiting · ✗ refused",
];

/// What a typed line is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    Empty,
    Text(String),
    Help,
    Quit,
    Switch(String),
    /// `/something` that is not a command: never sent.
    Unknown(String),
}

/// Reads a typed line: commands start with `/`; `//` sends a line starting with `/`.
pub fn parse_line(raw: &str) -> Line {
    let line = raw.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Line::Empty;
    }
    if let Some(rest) = line.strip_prefix("//") {
        return Line::Text(format!("/{rest}"));
    }
    let Some(cmd) = line.trim_start().strip_prefix('/') else {
        return Line::Text(line.to_string());
    };
    let mut words = cmd.split_whitespace();
    match words.next().unwrap_or("") {
        "help" | "h" | "?" => Line::Help,
        "quit" | "q" | "exit" => Line::Quit,
        "switch" | "s" | "open" => match words.next() {
            Some(n) => Line::Switch(words.fold(n.to_string(), |a, w| a + w)),
            None => Line::Unknown("/switch needs a number: /switch NUMBER".into()),
        },
        other => Line::Unknown(format!("unknown command /{other}; /help lists them")),
    }
}

/// The connection as the status line shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Online,
    Reconnecting { reason: String, at: Instant },
}

/// What the loop must do after a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Nothing,
    Send(String),
    Switch(String),
    Quit,
}

/// The input line: text and a cursor counted in characters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Input {
    chars: Vec<char>,
    cursor: usize,
}

impl Input {
    #[cfg(test)]
    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    fn insert(&mut self, c: char) {
        self.chars.insert(self.cursor, c);
        self.cursor += 1;
    }

    fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            self.chars.remove(self.cursor);
        }
    }

    fn delete(&mut self) {
        if self.cursor < self.chars.len() {
            self.chars.remove(self.cursor);
        }
    }

    fn delete_word(&mut self) {
        while self.cursor > 0 && self.chars[self.cursor - 1] == ' ' {
            self.backspace();
        }
        while self.cursor > 0 && self.chars[self.cursor - 1] != ' ' {
            self.backspace();
        }
    }

    fn take(&mut self) -> String {
        self.cursor = 0;
        std::mem::take(&mut self.chars).into_iter().collect()
    }
}

pub struct App {
    pub me: String,
    names: HashMap<String, String>,
    /// The open conversation's number.
    pub peer: Option<String>,
    /// The open conversation, oldest first.
    pub rows: Vec<ChatRow>,
    /// The peer's presence, when the peer lets us see it.
    pub presence: Option<PresenceInfo>,
    pub input: Input,
    /// Lines scrolled back from the end (0: following the newest).
    pub scroll: usize,
    /// Height of the history pane at the last draw (a page for PageUp/PageDown).
    pub page: usize,
    /// One line for the status bar: a new message elsewhere, an error, a hint.
    pub notice: Option<String>,
    pub link: LinkState,
    pub show_help: bool,
}

impl App {
    pub fn new(me: String, names: HashMap<String, String>, peer: Option<String>) -> App {
        App {
            me,
            names,
            peer,
            rows: Vec::new(),
            presence: None,
            input: Input::default(),
            scroll: 0,
            page: 10,
            notice: None,
            link: LinkState::Connecting,
            show_help: false,
        }
    }

    /// A number as people know it: the contact's name, else the number.
    pub fn name(&self, number: &str) -> String {
        if number == self.me {
            return "me".into();
        }
        self.names
            .get(number)
            .filter(|n| !n.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| number.to_string())
    }

    /// A name with its number, for the header and announcements.
    pub fn name_and_number(&self, number: &str) -> String {
        match self.names.get(number).filter(|n| !n.trim().is_empty()) {
            Some(n) => format!("{n} ({number})"),
            None => number.to_string(),
        }
    }

    /// Opens another conversation (its rows are loaded by the caller).
    pub fn open(&mut self, peer: String, rows: Vec<ChatRow>) {
        self.peer = Some(peer);
        self.rows = rows;
        self.presence = None;
        self.scroll = 0;
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if key.kind == KeyEventKind::Release {
            return Action::Nothing;
        }
        if self.show_help {
            self.show_help = false;
            if matches!(key.code, KeyCode::Esc | KeyCode::Enter) {
                return Action::Nothing;
            }
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c') if ctrl => return Action::Quit,
            KeyCode::Char('d') if ctrl && self.input.is_empty() => return Action::Quit,
            KeyCode::Char('u') if ctrl => {
                self.input.take();
            }
            KeyCode::Char('w') if ctrl => self.input.delete_word(),
            KeyCode::Char('a') if ctrl => self.input.cursor = 0,
            KeyCode::Char('e') if ctrl => self.input.cursor = self.input.chars.len(),
            KeyCode::Char(_) if ctrl => {}
            KeyCode::Char(c) => self.input.insert(c),
            KeyCode::Backspace => self.input.backspace(),
            KeyCode::Delete => self.input.delete(),
            KeyCode::Left => self.input.cursor = self.input.cursor.saturating_sub(1),
            KeyCode::Right => {
                self.input.cursor = (self.input.cursor + 1).min(self.input.chars.len())
            }
            KeyCode::Home => self.input.cursor = 0,
            KeyCode::End => self.input.cursor = self.input.chars.len(),
            KeyCode::PageUp => self.scroll += self.page.saturating_sub(1).max(1),
            KeyCode::PageDown => {
                self.scroll = self
                    .scroll
                    .saturating_sub(self.page.saturating_sub(1).max(1))
            }
            KeyCode::Up => self.scroll += 1,
            KeyCode::Down => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::Esc => {
                self.scroll = 0;
                self.notice = None;
            }
            KeyCode::Enter => return self.submit(),
            _ => {}
        }
        Action::Nothing
    }

    /// Enter: a command is handled here or handed back; text is to be sent.
    fn submit(&mut self) -> Action {
        let typed = self.input.take();
        match parse_line(&typed) {
            Line::Empty => Action::Nothing,
            Line::Help => {
                self.show_help = true;
                Action::Nothing
            }
            Line::Quit => Action::Quit,
            Line::Switch(n) => Action::Switch(n),
            Line::Unknown(msg) => {
                self.notice = Some(msg);
                Action::Nothing
            }
            Line::Text(t) => {
                if self.peer.is_none() {
                    self.notice = Some("no chat is open: /switch NUMBER first".into());
                    // Keep what was typed.
                    t.chars().for_each(|c| self.input.insert(c));
                    return Action::Nothing;
                }
                self.scroll = 0;
                Action::Send(t)
            }
        }
    }

    /// Whether a message belongs to the open conversation.
    pub fn is_open(&self, from: &str, to: &str) -> bool {
        let Some(peer) = &self.peer else { return false };
        (from == peer && to == self.me) || (from == self.me && to == peer)
    }

    /// Announces a message from someone other than the open conversation's peer.
    pub fn announce(&mut self, from: &str, body: &str) {
        let preview: String = body.chars().take(60).collect();
        let more = if body.chars().count() > 60 { "…" } else { "" };
        self.notice = Some(format!(
            "new message from {}: {}{more}  (/switch {from})",
            self.name_and_number(from),
            crate::terminal::clean(&preview)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(app: &mut App, s: &str) -> Action {
        for c in s.chars() {
            app.on_key(key(KeyCode::Char(c)));
        }
        app.on_key(key(KeyCode::Enter))
    }

    fn app() -> App {
        let names = HashMap::from([("+8613800000002".to_string(), "Li Lei".to_string())]);
        App::new(
            "+8613800000001".into(),
            names,
            Some("+8613800000002".into()),
        )
    }

    #[test]
    fn commands_are_never_sent() {
        let mut a = app();
        assert_eq!(typed(&mut a, "/help"), Action::Nothing);
        assert!(a.show_help);
        a.on_key(key(KeyCode::Esc));
        assert!(!a.show_help);
        assert_eq!(typed(&mut a, "/quit"), Action::Quit);
        assert_eq!(
            typed(&mut a, "/switch 138 0000 0003"),
            Action::Switch("13800000003".into())
        );
        assert_eq!(typed(&mut a, "/nonsense"), Action::Nothing);
        assert!(a.notice.as_deref().unwrap().contains("unknown command"));
        assert_eq!(typed(&mut a, "//help"), Action::Send("/help".into()));
        assert_eq!(
            typed(&mut a, "hello there"),
            Action::Send("hello there".into())
        );
        assert_eq!(typed(&mut a, "   "), Action::Nothing);
    }

    #[test]
    fn editing_keys_move_and_delete_by_character() {
        let mut a = app();
        for c in "héllo wörld".chars() {
            a.on_key(key(KeyCode::Char(c)));
        }
        a.on_key(KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL));
        assert_eq!(a.input.text(), "héllo ");
        a.on_key(key(KeyCode::Home));
        a.on_key(key(KeyCode::Delete));
        a.on_key(key(KeyCode::Right));
        a.on_key(key(KeyCode::Backspace));
        assert_eq!(a.input.text(), "llo ");
        a.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert!(a.input.is_empty());
        // Ctrl-D quits only on an empty line.
        a.on_key(key(KeyCode::Char('x')));
        assert_eq!(
            a.on_key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL)),
            Action::Nothing
        );
    }

    #[test]
    fn paging_scrolls_back_and_forward_by_a_page() {
        let mut a = app();
        a.page = 10;
        a.on_key(key(KeyCode::PageUp));
        a.on_key(key(KeyCode::PageUp));
        assert_eq!(a.scroll, 18);
        a.on_key(key(KeyCode::PageDown));
        assert_eq!(a.scroll, 9);
        a.on_key(key(KeyCode::Esc));
        assert_eq!(a.scroll, 0);
    }

    #[test]
    fn text_without_an_open_chat_is_kept_and_explained() {
        let mut a = App::new("+8613800000001".into(), HashMap::new(), None);
        assert_eq!(typed(&mut a, "hi"), Action::Nothing);
        assert_eq!(a.input.text(), "hi");
        assert!(a.notice.as_deref().unwrap().contains("/switch"));
    }

    #[test]
    fn names_come_from_the_contact_list() {
        let mut a = app();
        assert_eq!(a.name("+8613800000002"), "Li Lei");
        assert_eq!(a.name("+8613800000009"), "+8613800000009");
        assert_eq!(a.name("+8613800000001"), "me");
        a.announce("+8613800000002", "are you there?");
        assert!(a
            .notice
            .as_deref()
            .unwrap()
            .contains("new message from Li Lei (+8613800000002): are you there?"));
    }
}
