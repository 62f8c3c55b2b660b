//! Enter: a typed line becomes a post or a slash command, and each
//! command becomes [`Action`]s for the node or a notice.

use std::collections::HashMap;

use hearth_protocol::limits::MAX_BODY_BYTES;
use hearth_protocol::{BlockEntry, BlockTarget, ChannelName, ContentWarning, MessageId, PublicKey};

use super::commands::{self, BlockWho, Command, CwChange, Input, NickChange, PostRef, SwitchTo};
use super::{Action, App, Draft, PostItem, Tone};

impl App {
    /// Enter: send the line or run the command.
    pub fn submit(&mut self) -> Vec<Action> {
        let parsed = commands::parse(self.input.text());
        if self.care_holds(&parsed) {
            return Vec::new();
        }
        match parsed {
            Input::Empty => {
                self.input.take();
                self.scroll_to_bottom();
                Vec::new()
            }
            Input::Message(text) => {
                if text.len() > MAX_BODY_BYTES {
                    self.hint(format!(
                        "That's {} bytes; one post holds {MAX_BODY_BYTES}. Could you split it in two? It's still in the input line.",
                        text.len()
                    ));
                    return Vec::new();
                }
                let Some(channel) = self.current().map(|c| c.name.clone()) else {
                    self.hint(
                        "You're not in a channel yet: /join NAME first (your text is still here).",
                    );
                    return Vec::new();
                };
                let line = self.input.take();
                self.remember(line);
                self.send(channel, text, None)
            }
            Input::Hint(hint) => {
                let line = self.input.take();
                self.remember(line);
                self.hint(hint);
                Vec::new()
            }
            Input::Command(command) => {
                let line = self.input.take();
                self.remember(line);
                self.run(command)
            }
        }
    }

    /// Builds the publish action for `text` with the pending reply and
    /// warning (or `cw`).
    fn send(
        &mut self,
        channel: ChannelName,
        text: String,
        cw: Option<ContentWarning>,
    ) -> Vec<Action> {
        if self.stopped {
            self.input.set(&text);
            self.hint("The node has stopped, so this can't be sent. /quit closes the window.");
            return Vec::new();
        }
        let reply_to = match self.pending_reply.take() {
            Some((reply_channel, id)) if reply_channel == channel => Some(id),
            other => {
                self.pending_reply = other;
                None
            }
        };
        let content_warning = cw.or_else(|| self.pending_cw.take());
        self.scroll_to_bottom();
        vec![Action::Publish {
            channel,
            draft: Draft {
                text,
                reply_to,
                content_warning,
                nickname: self.nick.clone(),
            },
        }]
    }

    /// Finds the post a reference means: numbers count back in the channel
    /// shown; ids are looked for there first, then everywhere.
    fn resolve(&self, reference: &PostRef) -> Result<&PostItem, String> {
        match reference {
            PostRef::Number(n) => self
                .current()
                .and_then(|c| {
                    c.posts_newest_first()
                        .filter(|p| !p.own)
                        .nth(n.saturating_sub(1))
                })
                .ok_or_else(|| {
                    format!("There's no post #{n} here; 1 is the newest from someone else.")
                }),
            PostRef::Id(prefix) => {
                let mut found: HashMap<MessageId, &PostItem> = HashMap::new();
                let ordered = self.current().into_iter().chain(self.channels.iter());
                for channel in ordered {
                    for post in channel.posts_newest_first() {
                        if post.id.to_string().starts_with(prefix.as_str()) {
                            found.entry(post.id).or_insert(post);
                        }
                    }
                    if !found.is_empty() {
                        break;
                    }
                }
                match found.len() {
                    0 => Err(format!("I can't find a post {prefix} in this window.")),
                    1 => found
                        .into_values()
                        .next()
                        .ok_or_else(|| format!("I can't find a post {prefix}.")),
                    _ => Err(format!(
                        "More than one post starts with {prefix}; a few more digits will pick one."
                    )),
                }
            }
        }
    }

    /// A post id from a reference: a shown post, or a full 64-digit id.
    fn resolve_id(&self, reference: &PostRef) -> Result<MessageId, String> {
        match self.resolve(reference) {
            Ok(post) => Ok(post.id),
            Err(e) => match reference {
                PostRef::Id(hex) if hex.len() == 64 => hex.parse().map_err(|_| e),
                _ => Err(e),
            },
        }
    }

    fn current_name(&mut self) -> Option<ChannelName> {
        let name = self.current().map(|c| c.name.clone());
        if name.is_none() {
            self.hint("You're not in a channel yet: /join NAME first.");
        }
        name
    }

    fn run(&mut self, command: Command) -> Vec<Action> {
        match command {
            Command::Join(channel) => {
                if let Some(index) = self.channel_index(&channel) {
                    self.switch_to(index);
                    return Vec::new();
                }
                vec![Action::Join(channel)]
            }
            Command::Leave(channel) => {
                let channel = match channel {
                    Some(c) => c,
                    None => match self.current_name() {
                        Some(c) => c,
                        None => return Vec::new(),
                    },
                };
                if self.channel_index(&channel).is_none() {
                    self.hint(format!("You're not in #{channel}."));
                    return Vec::new();
                }
                vec![Action::Leave(channel)]
            }
            Command::Switch(SwitchTo::Number(n)) => {
                if n >= 1 && n <= self.channels.len() {
                    self.switch_to(n - 1);
                } else {
                    let count = self.channels.len();
                    self.hint(format!(
                        "There's no channel {n} in the list; it has {count}."
                    ));
                }
                Vec::new()
            }
            Command::Switch(SwitchTo::Name(channel)) => {
                match self.channel_index(&channel) {
                    Some(index) => self.switch_to(index),
                    None => self.hint(format!(
                        "You're not in #{channel} yet; /join {channel} joins it."
                    )),
                }
                Vec::new()
            }
            Command::Nick(change) => {
                match change {
                    NickChange::Show => {
                        let text = match &self.nick {
                            Some(nick) => format!(
                                "Your posts show the nickname “{nick}”. /nick NAME changes it, /nick - drops it."
                            ),
                            None => "You post without a nickname. /nick NAME adds one.".to_owned(),
                        };
                        self.notice(text, Tone::Info);
                    }
                    NickChange::Clear => {
                        self.nick = None;
                        self.notice("Your next posts show just your persona name.", Tone::Info);
                    }
                    NickChange::Set(nick) => {
                        self.notice(
                            format!("Your next posts show “{nick}” beside your persona name."),
                            Tone::Info,
                        );
                        self.nick = Some(nick);
                    }
                }
                Vec::new()
            }
            Command::NewMe => match self.current_name() {
                Some(channel) => vec![Action::RotatePersona(channel)],
                None => Vec::new(),
            },
            Command::Reply { target: None, .. } => {
                if self.pending_reply.take().is_some() {
                    self.notice("Reply cancelled.", Tone::Info);
                } else {
                    self.hint("/reply takes a post id, like /reply 3f2a9c1d, or 1 for the newest.");
                }
                Vec::new()
            }
            Command::Reply {
                target: Some(target),
                text,
            } => {
                let Some(channel) = self.current_name() else {
                    return Vec::new();
                };
                let (id, who) = match self.resolve(&target) {
                    Ok(post) => (post.id, post.author_name.clone()),
                    Err(e) => {
                        self.hint(e);
                        return Vec::new();
                    }
                };
                self.pending_reply = Some((channel.clone(), id));
                match text {
                    Some(text) => self.send(channel, text, None),
                    None => {
                        self.notice(
                            format!(
                                "Your next message answers {who} ({}). Esc cancels.",
                                id.short()
                            ),
                            Tone::Info,
                        );
                        Vec::new()
                    }
                }
            }
            Command::Cw(CwChange::Show) => {
                let text = match &self.pending_cw {
                    Some(w) => format!(
                        "Your next post is folded behind: {}. /cw off drops it.",
                        commands::describe_warning(w)
                    ),
                    None => "No content warning is set. /cw self-harm (or /help cw) sets one for your next post.".to_owned(),
                };
                self.notice(text, Tone::Info);
                Vec::new()
            }
            Command::Cw(CwChange::Clear) => {
                self.pending_cw = None;
                self.notice("No content warning on your next post.", Tone::Info);
                Vec::new()
            }
            Command::Cw(CwChange::Set { warning, text }) => match text {
                Some(text) => match self.current_name() {
                    Some(channel) => self.send(channel, text, Some(warning)),
                    None => Vec::new(),
                },
                None => {
                    self.notice(
                        format!(
                            "Your next post will be folded behind: {}. /cw off drops it.",
                            commands::describe_warning(&warning)
                        ),
                        Tone::Info,
                    );
                    self.pending_cw = Some(warning);
                    Vec::new()
                }
            },
            Command::Open(target) => {
                let id = match target {
                    Some(target) => match self.resolve(&target) {
                        Ok(post) if post.folds() => Ok(post.id),
                        Ok(post) => Err(format!(
                            "{} has no content warning; it's shown as it is.",
                            post.id.short()
                        )),
                        Err(e) => Err(e),
                    },
                    None => self
                        .current()
                        .and_then(|c| {
                            c.posts_newest_first()
                                .find(|p| {
                                    p.folds()
                                        && p.hidden_by.is_none()
                                        && !p.own
                                        && !c.opened.contains(&p.id)
                                })
                                .map(|p| p.id)
                        })
                        .ok_or_else(|| "Nothing here is folded behind a warning.".to_owned()),
                };
                match id {
                    Ok(id) => {
                        let Some(channel) = self.current_mut() else {
                            return Vec::new();
                        };
                        if !channel.opened.remove(&id) {
                            channel.opened.insert(id);
                        }
                    }
                    Err(e) => self.hint(e),
                }
                Vec::new()
            }
            Command::Block { who, reason } => {
                let found = match &who {
                    BlockWho::Post(target) => self
                        .resolve(target)
                        .map(|p| (p.author, p.author_name.clone(), p.own)),
                    BlockWho::Name(name) => self.find_author(name),
                };
                match found {
                    Ok((_, _, true)) => {
                        self.hint("That's you. /newme gives you a new, unlinked persona instead.");
                        Vec::new()
                    }
                    Ok((key, name, false)) => vec![Action::Block {
                        entry: BlockEntry::new(BlockTarget::Persona(key), reason),
                        what: name,
                    }],
                    Err(e) => {
                        self.hint(e);
                        Vec::new()
                    }
                }
            }
            Command::Hide { target, reason } => match self.resolve_id(&target) {
                Ok(id) => vec![Action::Block {
                    entry: BlockEntry::new(BlockTarget::Post(id), reason),
                    what: format!("Post {}", id.short()),
                }],
                Err(e) => {
                    self.hint(e);
                    Vec::new()
                }
            },
            Command::Why(target) => match self.resolve_id(&target) {
                Ok(id) => vec![Action::Why { id }],
                Err(e) => {
                    self.hint(e);
                    Vec::new()
                }
            },
            Command::Report { target, reason } => {
                let Some(channel) = self.current_name() else {
                    return Vec::new();
                };
                match self.resolve(&target).map(|p| (p.id, p.own)) {
                    Ok((_, true)) => {
                        self.hint("That's your own post; there's nothing to report.");
                        Vec::new()
                    }
                    Ok((post, false)) => vec![Action::Report {
                        channel,
                        post,
                        reason,
                    }],
                    Err(e) => match target {
                        PostRef::Id(hex) if hex.len() == 64 => match hex.parse() {
                            Ok(post) => vec![Action::Report {
                                channel,
                                post,
                                reason,
                            }],
                            Err(_) => {
                                self.hint(e);
                                Vec::new()
                            }
                        },
                        _ => {
                            self.hint(e);
                            Vec::new()
                        }
                    },
                }
            }
            Command::History(limit) => match self.current_name() {
                Some(channel) => vec![Action::History {
                    channel,
                    limit,
                    announce: true,
                }],
                None => Vec::new(),
            },
            Command::Peers => vec![Action::Peers],
            Command::Crisis(country) => {
                self.show_crisis(country);
                Vec::new()
            }
            Command::Help(topic) => {
                for line in commands::help(topic.as_deref()) {
                    self.notice(line, Tone::Help);
                }
                Vec::new()
            }
            Command::Quit => {
                self.quit = true;
                vec![Action::Quit]
            }
        }
    }

    /// The author shown under a persona name (or, if only one author
    /// uses it, a nickname): the channel shown first, then everywhere.
    fn find_author(&self, name: &str) -> Result<(PublicKey, String, bool), String> {
        let name = name.trim().trim_start_matches('@').to_lowercase();
        let channels = self.current().into_iter().chain(self.channels.iter());
        let mut by_nick: HashMap<PublicKey, (String, bool)> = HashMap::new();
        for channel in channels {
            for post in channel.posts_newest_first() {
                if post.author_name.to_lowercase() == name {
                    return Ok((post.author, post.author_name.clone(), post.own));
                }
                if post
                    .nickname
                    .as_ref()
                    .is_some_and(|n| n.to_lowercase() == name)
                {
                    by_nick
                        .entry(post.author)
                        .or_insert((post.author_name.clone(), post.own));
                }
            }
        }
        let shown: String = name.chars().take(40).collect();
        match by_nick.len() {
            1 => by_nick
                .into_iter()
                .next()
                .map(|(key, (n, own))| (key, n, own))
                .ok_or_else(|| format!("I can't see anyone called {shown} here.")),
            0 => Err(format!(
                "I can't see anyone called {shown} here. Use the name before their post, or its id: /block 3f2a9c1d."
            )),
            _ => Err(format!(
                "Several people use the nickname {shown}; use the name before the post, or its id."
            )),
        }
    }
}
