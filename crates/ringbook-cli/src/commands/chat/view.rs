//! Drawing the chat screen with ratatui: a header (the peer's name, number, presence and status
//! text), the history with day separators and ticks, a status line (connection, new messages
//! elsewhere, hints) and the input line, kept apart so nothing that arrives breaks what is
//! being typed.

use super::app::{App, LinkState, HELP};
use super::presence_text;
use crate::terminal::clean;
use crate::time::{day_label, hm};
use chrono::{DateTime, Local};
use ratatui::layout::{Constraint, Layout, Position};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use ringbook_client::messaging::ChatRow;
use unicode_width::UnicodeWidthChar;

/// The tick after an own message.
pub fn tick(r: &ChatRow) -> (String, Style) {
    if let Some((code, reason)) = &r.failed {
        return (
            format!("✗ failed: {} ({code})", clean(reason)),
            Style::default().fg(Color::Red),
        );
    }
    if r.read_at.is_some() {
        ("✓✓ read".into(), Style::default().fg(Color::Cyan))
    } else if r.delivered_at.is_some() {
        ("✓✓".into(), Style::default().fg(Color::Green))
    } else if r.server_id.is_some() {
        ("✓".into(), Style::default().fg(Color::Green))
    } else {
        ("… waiting".into(), Style::default().fg(Color::Yellow))
    }
}

/// Splits `text` into pieces of at most `first` columns, then `rest` columns.
fn wrap(text: &str, first: usize, rest: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut width = 0;
    let mut limit = first.max(1);
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if width + w > limit && width > 0 {
            out.push(String::new());
            width = 0;
            limit = rest.max(1);
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
        width += w;
    }
    out
}

fn str_width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// The history as screen lines `width` columns wide, oldest first.
pub fn history_lines(app: &App, width: usize, now: DateTime<Local>) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut day = None;
    let dim = Style::default().add_modifier(Modifier::DIM);
    for r in &app.rows {
        let at = DateTime::from_timestamp_millis(r.sent_at).map(|t| t.with_timezone(&Local));
        let this_day = at.map(|t| t.date_naive());
        if this_day != day {
            day = this_day;
            let label = format!(" {} ", day_label(r.sent_at, now));
            let side = width.saturating_sub(str_width(&label)) / 2;
            lines.push(Line::styled(
                format!("{}{label}{}", "─".repeat(side), "─".repeat(side)),
                dim,
            ));
        }
        let mine = r.sender == app.me;
        let who = if mine {
            "me".to_string()
        } else {
            app.name(&r.sender)
        };
        let prefix = format!("{} {who}: ", hm(r.sent_at));
        let who_style = if mine {
            Style::default()
                .fg(Color::Blue)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default()
                .fg(Color::Magenta)
                .add_modifier(Modifier::BOLD)
        };
        let (mark, mark_style) = if mine {
            let (m, s) = tick(r);
            (format!(" {m}"), s)
        } else {
            (String::new(), Style::default())
        };
        let body = clean(&r.content);
        let indent = str_width(&prefix).min(width / 2);
        let mut pieces = wrap(
            &body,
            width.saturating_sub(str_width(&prefix)),
            width.saturating_sub(indent),
        );
        // The tick goes on the last line when it fits, else on a line of its own.
        let last_fits = pieces
            .last()
            .is_some_and(|l| str_width(l) + str_width(&mark) <= width.saturating_sub(indent));
        let tick_line = if !mark.is_empty() && !last_fits {
            Some(mark.trim_start().to_string())
        } else {
            None
        };
        let n = pieces.len();
        for (i, piece) in pieces.drain(..).enumerate() {
            let mut spans = if i == 0 {
                vec![
                    Span::styled(hm(r.sent_at), dim),
                    Span::raw(" "),
                    Span::styled(format!("{who}:"), who_style),
                    Span::raw(" "),
                    Span::raw(piece),
                ]
            } else {
                vec![Span::raw(" ".repeat(indent)), Span::raw(piece)]
            };
            if i + 1 == n && tick_line.is_none() && !mark.is_empty() {
                spans.push(Span::styled(mark.clone(), mark_style));
            }
            lines.push(Line::from(spans));
        }
        if let Some(t) = tick_line {
            lines.push(Line::from(vec![
                Span::raw(" ".repeat(indent)),
                Span::styled(t, mark_style),
            ]));
        }
    }
    lines
}

fn header(app: &App, now: DateTime<Local>) -> Line<'static> {
    let Some(peer) = &app.peer else {
        return Line::from(vec![Span::styled(
            " Ringbook chat — no chat open: /switch NUMBER",
            Style::default().add_modifier(Modifier::BOLD),
        )]);
    };
    let mut spans = vec![Span::styled(
        format!(" {}", app.name(peer)),
        Style::default().add_modifier(Modifier::BOLD),
    )];
    if app.name(peer) != *peer {
        spans.push(Span::styled(
            format!("  {peer}"),
            Style::default().add_modifier(Modifier::DIM),
        ));
    }
    if peer == &app.me {
        spans.push(Span::raw("  (notes to yourself)"));
    }
    match &app.presence {
        Some(p) => {
            let colour = match p.im_status {
                ringbook_proto::presence::ImStatus::Online => Color::Green,
                ringbook_proto::presence::ImStatus::Busy => Color::Red,
                ringbook_proto::presence::ImStatus::Away => Color::Yellow,
                ringbook_proto::presence::ImStatus::Offline => Color::DarkGray,
            };
            spans.push(Span::raw(" · "));
            spans.push(Span::styled(
                presence_text(p, now),
                Style::default().fg(colour),
            ));
        }
        None if peer != &app.me => spans.push(Span::styled(
            " · presence not shared",
            Style::default().add_modifier(Modifier::DIM),
        )),
        None => {}
    }
    Line::from(spans)
}

fn status(app: &App) -> Line<'static> {
    let link = match &app.link {
        LinkState::Connecting => Span::styled("connecting…", Style::default().fg(Color::Yellow)),
        LinkState::Online => Span::styled("connected", Style::default().fg(Color::Green)),
        LinkState::Reconnecting { reason, at } => {
            let secs = at
                .saturating_duration_since(tokio::time::Instant::now())
                .as_secs_f32()
                .ceil();
            Span::styled(
                format!("reconnecting… in {secs:.0} s ({reason})"),
                Style::default().fg(Color::Yellow),
            )
        }
    };
    let mut spans = vec![Span::raw(" "), link, Span::raw(" │ ")];
    if app.scroll > 0 {
        spans.push(Span::raw(format!(
            "scrolled back {} lines (PageDown/Esc) │ ",
            app.scroll
        )));
    }
    match &app.notice {
        Some(n) => spans.push(Span::styled(
            n.clone(),
            Style::default().add_modifier(Modifier::BOLD),
        )),
        None => spans.push(Span::raw("/help for commands · PageUp/PageDown to scroll")),
    }
    Line::from(spans)
}

/// Draws the whole screen; clamps the scroll position to what there is.
pub fn draw(frame: &mut Frame, app: &mut App, now: DateTime<Local>) {
    let [top, middle, bar, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(
        Paragraph::new(header(app, now)).style(Style::default().add_modifier(Modifier::REVERSED)),
        top,
    );

    let height = middle.height as usize;
    app.page = height.max(1);
    let lines: Vec<Line> = if app.show_help {
        HELP.iter().map(|l| Line::raw(l.to_string())).collect()
    } else {
        let all = history_lines(app, middle.width as usize, now);
        app.scroll = app.scroll.min(all.len().saturating_sub(height));
        let end = all.len() - app.scroll;
        let start = end.saturating_sub(height);
        let mut shown: Vec<Line> = all[start..end].to_vec();
        if all.is_empty() {
            shown.push(Line::styled(
                match &app.peer {
                    Some(_) => "no messages yet: type one below and press Enter",
                    None => "type /switch NUMBER to open a chat, /help for help",
                },
                Style::default().add_modifier(Modifier::DIM),
            ));
        }
        // The newest line sits just above the status bar.
        let pad = height.saturating_sub(shown.len());
        let mut padded = vec![Line::raw(""); pad];
        padded.extend(shown);
        padded
    };
    frame.render_widget(Paragraph::new(lines), middle);
    frame.render_widget(
        Paragraph::new(status(app)).style(Style::default().add_modifier(Modifier::REVERSED)),
        bar,
    );

    // The input line scrolls sideways so the cursor stays visible.
    let prompt = "> ";
    let room = (bottom.width as usize)
        .saturating_sub(prompt.len() + 1)
        .max(1);
    let chars = app.input.chars();
    let before: usize = chars[..app.input.cursor()]
        .iter()
        .map(|c| c.width().unwrap_or(0))
        .sum();
    let mut skip_width = before.saturating_sub(room);
    let mut start = 0;
    while skip_width > 0 && start < chars.len() {
        skip_width = skip_width.saturating_sub(chars[start].width().unwrap_or(0).max(1));
        start += 1;
    }
    let visible: String = chars[start..].iter().map(|&c| clean_char(c)).collect();
    let cursor_col: usize = chars[start..app.input.cursor()]
        .iter()
        .map(|c| c.width().unwrap_or(0))
        .sum();
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(prompt, Style::default().add_modifier(Modifier::BOLD)),
            Span::raw(visible),
        ])),
        bottom,
    );
    frame.set_cursor_position(Position::new(
        bottom.x + (prompt.len() + cursor_col) as u16,
        bottom.y,
    ));
}

fn clean_char(c: char) -> char {
    if c.is_control() {
        '�'
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use std::collections::HashMap;

    fn row(id: i64, from: &str, to: &str, text: &str, at: i64) -> ChatRow {
        ChatRow {
            id,
            server_id: Some(id),
            client_msg_id: format!("c{id}"),
            sender: from.into(),
            receiver: to.into(),
            content: text.into(),
            sent_at: at,
            received_at: None,
            kind: "text".into(),
            offline: false,
            seq: Some(id),
            delivered_at: None,
            read_at: None,
            failed: None,
        }
    }

    fn screen(app: &mut App, w: u16, h: u16, now: DateTime<Local>) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw(f, app, now)).unwrap();
        let buf = t.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..h {
            for x in 0..w {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn history_shows_names_day_separators_and_ticks() {
        let (me, li) = ("+8613800000001", "+8613800000002");
        let names = HashMap::from([(li.to_string(), "Li Lei".to_string())]);
        let mut app = App::new(me.into(), names, Some(li.into()));
        let now = Local::now();
        let yesterday = (now - chrono::Duration::days(1)).timestamp_millis();
        let today = now.timestamp_millis();
        let mut sent = row(2, me, li, "hi Li", today);
        sent.delivered_at = Some(today);
        let mut read = row(3, me, li, "are you there", today);
        read.read_at = Some(today);
        let mut failed = row(4, me, li, "nope", today);
        failed.server_id = None;
        failed.failed = Some(("blocked_by_recipient".into(), "no thanks".into()));
        let mut waiting = row(5, me, li, "later", today);
        waiting.server_id = None;
        app.rows = vec![
            row(1, li, me, "hello from yesterday", yesterday),
            sent,
            read,
            failed,
            waiting,
        ];
        let s = screen(&mut app, 80, 14, now);
        assert!(s.contains("Yesterday"), "{s}");
        assert!(s.contains("Today"), "{s}");
        assert!(s.contains("Li Lei: hello from yesterday"), "{s}");
        assert!(s.contains("me: hi Li ✓✓"), "{s}");
        assert!(s.contains("me: are you there ✓✓ read"), "{s}");
        assert!(
            s.contains("✗ failed: no thanks (blocked_by_recipient)"),
            "{s}"
        );
        assert!(s.contains("me: later … waiting"), "{s}");
        assert!(
            !s.contains("+8613800000002: "),
            "numbers instead of names: {s}"
        );
    }

    #[test]
    fn long_lines_wrap_and_scroll_back_by_pages() {
        let (me, li) = ("+8613800000001", "+8613800000002");
        let mut app = App::new(me.into(), HashMap::new(), Some(li.into()));
        let now = Local::now().timestamp_millis();
        app.rows = (1..=40)
            .map(|i| row(i, li, me, &format!("line {i} {}", "x".repeat(50)), now))
            .collect();
        let s = screen(&mut app, 40, 12, Local::now());
        assert!(s.contains("line 40"), "{s}");
        assert!(!s.contains("line 30 "), "{s}");
        app.scroll = 1000;
        let s = screen(&mut app, 40, 12, Local::now());
        assert!(s.contains("line 1 "), "clamped to the top: {s}");
        assert!(s.contains("scrolled back"), "{s}");
    }

    #[test]
    fn control_characters_in_messages_never_reach_the_terminal() {
        let (me, li) = ("+8613800000001", "+8613800000002");
        let mut app = App::new(me.into(), HashMap::new(), Some(li.into()));
        app.rows = vec![row(
            1,
            li,
            me,
            "evil\x1b[2Jtext",
            Local::now().timestamp_millis(),
        )];
        let s = screen(&mut app, 60, 6, Local::now());
        assert!(!s.contains('\x1b'), "{s:?}");
        assert!(s.contains("evil"), "{s}");
    }
}
