//! What the node says and what it answers: posts arriving, peers coming
//! and going, and the outcome of each request the window made.

use hearth_protocol::BlockTarget;

use super::commands::DEFAULT_HISTORY;
use super::{Action, App, Item, NodeEvent, OWN_LIST, Outcome, Tone};

impl App {
    /// Takes a node event.
    pub fn on_event(&mut self, event: NodeEvent) -> Vec<Action> {
        match event {
            NodeEvent::Joined { channel, persona } => {
                self.add_channel(channel, Some(persona), 0);
            }
            NodeEvent::Left { channel } => {
                self.remove_channel(&channel);
            }
            NodeEvent::Post(record) => self.add_post(*record, true),
            NodeEvent::ChannelCard(card) => self.on_channel_card(*card),
            NodeEvent::ModeratorPresence { channel, at_ms } => self.on_presence(&channel, at_ms),
            NodeEvent::CrisisUpdateWaiting { publisher, id } => self.notice(
                format!(
                    "An update of the crisis lines from {publisher} is waiting for you: \
                     `hearth crisis updates` shows what it changes, and nothing changes \
                     until you run `hearth crisis accept {id}`."
                ),
                Tone::Hint,
            ),
            NodeEvent::Sent { id, peers } => {
                if peers > 0 {
                    self.waiting.remove(&id);
                    for channel in &mut self.channels {
                        if let Some(post) = channel.post_mut(&id) {
                            post.waiting = false;
                        }
                    }
                }
            }
            NodeEvent::PeerConnected(peer) => {
                self.peers.insert(peer);
            }
            NodeEvent::PeerDisconnected(peer) => {
                self.peers.remove(&peer);
            }
            NodeEvent::ChannelPeers { channel, peers } => {
                if let Some(c) = self.channel_mut(&channel) {
                    c.peers = peers;
                }
            }
            NodeEvent::Paced { channel, queued } => {
                if let Some(c) = self.channel_mut(&channel) {
                    c.paced = queued;
                }
            }
            NodeEvent::Backlog { channel, posts } => {
                let (what, wait, go) = if posts == 1 {
                    ("1 post".to_owned(), "is", "It goes")
                } else {
                    (format!("{posts} posts"), "are", "They go")
                };
                self.notice(
                    format!(
                        "{what} you wrote last time {wait} still waiting for someone in #{channel}. {go} out as soon as someone is there."
                    ),
                    Tone::Info,
                );
            }
            NodeEvent::BacklogSent { channel, posts } => {
                let what = if posts == 1 {
                    "1 post".to_owned()
                } else {
                    format!("{posts} posts")
                };
                let verb = if posts == 1 { "was" } else { "were" };
                self.notice(
                    format!("{what} from last time {verb} sent to #{channel}."),
                    Tone::Info,
                );
            }
            NodeEvent::PersonaStamping { channel } => self.notice(
                format!(
                    "Preparing your name in #{channel}: a one-time piece of work that keeps spammers from making names for free. It takes a few seconds; what you write meanwhile is sent when it is done."
                ),
                Tone::Info,
            ),
            NodeEvent::PersonaReady { channel, elapsed } => self.notice(
                format!(
                    "Your name in #{channel} is ready ({:.1} s).",
                    elapsed.as_secs_f64()
                ),
                Tone::Info,
            ),
            NodeEvent::Report {
                channel,
                post,
                reason,
                reporter,
            } => self.notice(
                format!(
                    "Report for you as moderator: post {} in #{channel}, from {reporter}: “{reason}”. `hearth moderator reports` lists them.",
                    post.short()
                ),
                Tone::Info,
            ),
            NodeEvent::Lagged(missed) => self.notice(
                format!(
                    "{missed} updates were missed while things were busy; /history reloads this channel."
                ),
                Tone::Info,
            ),
            NodeEvent::Stopped => {
                if !self.stopped {
                    self.stopped = true;
                    self.notice(
                        "The node has stopped, so nothing more can be sent or received. /quit closes this window.",
                        Tone::Info,
                    );
                }
            }
        }
        Vec::new()
    }

    /// Takes the answer to an earlier action.
    pub fn on_outcome(&mut self, outcome: Outcome) -> Vec<Action> {
        match outcome {
            Outcome::Published { id, peers, .. } => {
                if peers == 0 {
                    self.waiting.insert(id);
                    for channel in &mut self.channels {
                        if let Some(post) = channel.post_mut(&id) {
                            post.waiting = true;
                        }
                    }
                }
            }
            Outcome::PublishFailed {
                channel,
                draft,
                error,
            } => {
                let restored = self.input.is_empty();
                if restored {
                    self.input.set(&draft.text);
                    if let Some(parent) = draft.reply_to {
                        self.pending_reply = Some((channel.clone(), parent));
                    }
                    if draft.content_warning.is_some() {
                        self.pending_cw = draft.content_warning;
                    }
                }
                let tail = if restored {
                    " It's back in the input line, so nothing is lost."
                } else {
                    ""
                };
                self.hint(format!(
                    "That message to #{channel} wasn't sent: {error}.{tail}"
                ));
            }
            Outcome::Card {
                channel,
                card,
                last_heard_ms,
            } => {
                if let Some(card) = card {
                    self.on_channel_card(*card);
                }
                if let Some(at_ms) = last_heard_ms {
                    self.on_presence(&channel, at_ms);
                }
            }
            Outcome::Joined { channel, persona } => {
                let name = persona.name.clone();
                self.add_channel(channel.clone(), Some(persona), 0);
                if let Some(index) = self.channel_index(&channel) {
                    self.switch_to(index);
                }
                self.notice(format!("You joined #{channel} as {name}."), Tone::Info);
                return vec![
                    Action::History {
                        channel: channel.clone(),
                        limit: DEFAULT_HISTORY,
                        announce: false,
                    },
                    Action::Card(channel),
                ];
            }
            Outcome::Left { channel } => {
                self.remove_channel(&channel);
                let next = match self.current() {
                    Some(c) => format!(" Now showing #{}.", c.name),
                    None => " /join NAME joins another.".to_owned(),
                };
                self.notice(format!("You left #{channel}.{next}"), Tone::Info);
            }
            Outcome::Rotated { channel, persona } => {
                let name = persona.name.clone();
                if let Some(c) = self.channel_mut(&channel) {
                    c.persona = Some(persona);
                }
                let nick = match &self.nick {
                    Some(nick) => {
                        format!(" Your nickname “{nick}” still shows; /nick - drops it.")
                    }
                    None => String::new(),
                };
                self.notice(
                    format!(
                        "You are now {name} in #{channel}: a new persona, not linked to the old one.{nick}"
                    ),
                    Tone::Info,
                );
            }
            Outcome::Blocked { entry, what, new } => {
                self.apply_block(&entry.target);
                let text = match (&entry.target, new) {
                    (_, false) => format!("{what} was already in your own blocklist."),
                    (BlockTarget::Persona(_), true) => {
                        format!("You won't see {what} any more. It's in your own blocklist.")
                    }
                    (_, true) => format!("{what} is hidden now. It's in your own blocklist."),
                };
                self.notice(text, Tone::Info);
            }
            Outcome::Why { id, record } => {
                let short = id.short();
                let text = match record.map(|r| r.verdict) {
                    None => format!("There's no stored post {short}."),
                    Some(None) => format!("{short} isn't hidden by any list."),
                    Some(Some(v)) => {
                        let reason = if v.reason.trim().is_empty() {
                            "no reason given".to_owned()
                        } else {
                            format!("reason: “{}”", v.reason)
                        };
                        format!(
                            "{short} is hidden by {}: a {} entry, {reason}.",
                            v.list,
                            v.target.kind()
                        )
                    }
                };
                self.notice(text, Tone::Info);
            }
            Outcome::History {
                channel,
                records,
                announce,
            } => {
                let mut added = 0;
                for record in records {
                    if record.post.channel != channel {
                        continue;
                    }
                    let before = self.channel_mut(&channel).map_or(0, |c| c.ids.len());
                    self.add_post(record, false);
                    let after = self.channel_mut(&channel).map_or(0, |c| c.ids.len());
                    added += after.saturating_sub(before);
                }
                if announce {
                    let text = match added {
                        0 => "No earlier posts here that aren't already shown.".to_owned(),
                        1 => "Loaded 1 earlier post.".to_owned(),
                        n => format!("Loaded {n} earlier posts."),
                    };
                    self.notice(text, Tone::Info);
                }
            }
            Outcome::Peers(peers) => {
                if peers.is_empty() {
                    self.notice(
                        "No peers connected yet. hearth keeps looking; your posts wait and go out when someone appears.",
                        Tone::Info,
                    );
                } else {
                    let count = peers.len();
                    let s = if count == 1 { "" } else { "s" };
                    self.notice(format!("Connected to {count} peer{s}:"), Tone::Info);
                    for peer in peers {
                        let channels: Vec<String> =
                            peer.channels.iter().map(|c| format!("#{c}")).collect();
                        let shared = if channels.is_empty() {
                            "no shared channels".to_owned()
                        } else {
                            channels.join(" ")
                        };
                        self.notice(format!("  {}  {shared}", short_peer(&peer.id)), Tone::Info);
                    }
                }
            }
            Outcome::Reported {
                post,
                moderators,
                peers,
            } => {
                let whom = if moderators == 1 {
                    "the moderator".to_owned()
                } else {
                    format!("the {moderators} moderators")
                };
                let text = if peers == 0 {
                    format!(
                        "Nobody else is in this channel right now, so your report of {} could not reach {whom}. Please try again when someone is here.",
                        post.short()
                    )
                } else {
                    format!(
                        "Your report of {} was sent, sealed so that only {whom} you follow here can read it. Nothing was sent to the person.",
                        post.short()
                    )
                };
                self.notice(text, Tone::Info);
            }
            Outcome::Failed { what, error } => {
                self.hint(format!("Couldn't {what}: {error}."));
            }
        }
        Vec::new()
    }

    fn apply_block(&mut self, target: &BlockTarget) {
        for channel in &mut self.channels {
            for item in &mut channel.items {
                if let Item::Post(post) = item {
                    let hit = match target {
                        BlockTarget::Persona(key) => post.author == *key,
                        BlockTarget::Post(id) => post.id == *id,
                        _ => false,
                    };
                    if hit && post.hidden_by.is_none() {
                        post.hidden_by = Some(OWN_LIST.to_owned());
                    }
                }
            }
        }
    }
}

/// A peer id short enough to read: `12D3Ko…x9AbCd`.
fn short_peer(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 16 {
        return id.to_owned();
    }
    let head: String = chars.iter().take(6).collect();
    let tail: String = chars.iter().skip(chars.len() - 6).collect();
    format!("{head}…{tail}")
}
