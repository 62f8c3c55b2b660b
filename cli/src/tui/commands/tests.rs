//! Tests of parsing typed lines and of the help text.

use super::*;

fn command(line: &str) -> Command {
    match parse(line) {
        Input::Command(c) => c,
        other => panic!("{line:?} parsed as {other:?}"),
    }
}

fn hint(line: &str) -> String {
    match parse(line) {
        Input::Hint(h) => h,
        other => panic!("{line:?} parsed as {other:?}"),
    }
}

fn ch(name: &str) -> ChannelName {
    ChannelName::parse(name).unwrap()
}

#[test]
fn plain_lines_are_messages_and_blank_lines_nothing() {
    assert_eq!(parse("hello there"), Input::Message("hello there".into()));
    assert_eq!(parse("  spaced  "), Input::Message("spaced".into()));
    assert_eq!(parse(""), Input::Empty);
    assert_eq!(parse("   \n\t "), Input::Empty);
    assert_eq!(parse("//shrug"), Input::Message("/shrug".into()));
    assert_eq!(
        parse("line one\nline two"),
        Input::Message("line one\nline two".into())
    );
}

#[test]
fn channel_commands() {
    assert_eq!(command("/join Grief/ES"), Command::Join(ch("grief/es")));
    assert_eq!(command("/j #anxiety"), Command::Join(ch("anxiety")));
    assert_eq!(command("/leave"), Command::Leave(None));
    assert_eq!(command("/part grief"), Command::Leave(Some(ch("grief"))));
    assert_eq!(command("/switch 2"), Command::Switch(SwitchTo::Number(2)));
    assert_eq!(command("/switch #2"), Command::Switch(SwitchTo::Number(2)));
    assert_eq!(
        command("/switch grief"),
        Command::Switch(SwitchTo::Name(ch("grief")))
    );
    assert!(hint("/join").contains("/join anxiety"));
    assert!(hint("/join Bad!!").contains("isn't a channel name"));
    assert!(hint("/join grief es").contains("one word"));
    assert!(hint("/switch").contains("Which channel"));
}

#[test]
fn nick_and_persona() {
    assert_eq!(command("/nick"), Command::Nick(NickChange::Show));
    assert_eq!(command("/nick -"), Command::Nick(NickChange::Clear));
    assert_eq!(
        command("/nick Sam B"),
        Command::Nick(NickChange::Set("Sam B".into()))
    );
    assert!(hint(&format!("/nick {}", "x".repeat(33))).contains("long"));
    assert!(hint("/nick a\u{202E}b").contains("control"));
    assert_eq!(command("/newme"), Command::NewMe);
    assert!(hint("/newme please").contains("/newme"));
}

#[test]
fn post_references() {
    assert_eq!(post_ref("3f2a9c1d"), Some(PostRef::Id("3f2a9c1d".into())));
    assert_eq!(post_ref("3F2A9C1D"), Some(PostRef::Id("3f2a9c1d".into())));
    assert_eq!(post_ref("12345678"), Some(PostRef::Id("12345678".into())));
    assert_eq!(post_ref("1"), Some(PostRef::Number(1)));
    assert_eq!(post_ref("#12"), Some(PostRef::Number(12)));
    assert_eq!(post_ref("0"), None);
    assert_eq!(post_ref("#0"), None);
    assert_eq!(post_ref("zz"), None);
    assert_eq!(post_ref(""), None);
    assert_eq!(post_ref(&"a".repeat(65)), None);
}

#[test]
fn reply_forms() {
    assert_eq!(
        command("/reply 3f2a9c1d thank you, really"),
        Command::Reply {
            target: Some(PostRef::Id("3f2a9c1d".into())),
            text: Some("thank you, really".into())
        }
    );
    assert_eq!(
        command("/r 1"),
        Command::Reply {
            target: Some(PostRef::Number(1)),
            text: None
        }
    );
    assert_eq!(
        command("/reply"),
        Command::Reply {
            target: None,
            text: None
        }
    );
    assert!(hint("/reply bob hi").contains("isn't a post id"));
}

#[test]
fn content_warnings() {
    assert_eq!(command("/cw"), Command::Cw(CwChange::Show));
    assert_eq!(command("/cw off"), Command::Cw(CwChange::Clear));
    assert_eq!(
        command("/cw self-harm"),
        Command::Cw(CwChange::Set {
            warning: ContentWarning::new([CwLabel::SelfHarm], None),
            text: None
        })
    );
    assert_eq!(
        command("/cw death,Self-Harm, abuse about my dad -- it happened again"),
        Command::Cw(CwChange::Set {
            warning: ContentWarning::new(
                [CwLabel::Death, CwLabel::SelfHarm, CwLabel::Abuse],
                Some("about my dad".into())
            ),
            text: Some("it happened again".into())
        })
    );
    assert_eq!(
        command("/cw hospital stuff"),
        Command::Cw(CwChange::Set {
            warning: ContentWarning::new([], Some("hospital stuff".into())),
            text: None
        })
    );
    assert_eq!(
        command("/cw drugs --"),
        Command::Cw(CwChange::Set {
            warning: ContentWarning::new([CwLabel::SubstanceUse], None),
            text: None
        })
    );
    assert!(hint("/cw -- text only").contains("Which warning"));
    assert!(hint(&format!("/cw {}", "word ".repeat(20))).contains("long"));
}

#[test]
fn moderation_commands() {
    assert_eq!(
        command("/block calm-otter-3f2a spam, again"),
        Command::Block {
            who: BlockWho::Name("calm-otter-3f2a".into()),
            reason: "spam, again".into()
        }
    );
    assert_eq!(
        command("/block 3f2a9c1d"),
        Command::Block {
            who: BlockWho::Post(PostRef::Id("3f2a9c1d".into())),
            reason: String::new()
        }
    );
    assert_eq!(
        command("/block #2"),
        Command::Block {
            who: BlockWho::Post(PostRef::Number(2)),
            reason: String::new()
        }
    );
    // A short hex word is more likely a name than an id.
    assert_eq!(
        command("/block dead"),
        Command::Block {
            who: BlockWho::Name("dead".into()),
            reason: String::new()
        }
    );
    assert!(hint("/block").contains("Whom"));
    assert!(hint(&format!("/block x {}", "r".repeat(201))).contains("reason"));
    assert_eq!(
        command("/hide 3f2a9c1d cruel"),
        Command::Hide {
            target: PostRef::Id("3f2a9c1d".into()),
            reason: "cruel".into()
        }
    );
    assert!(hint("/hide").contains("Which post"));
    assert_eq!(
        command("/why 3f2a9c1d"),
        Command::Why(PostRef::Id("3f2a9c1d".into()))
    );
    assert!(hint("/why").contains("Which post"));
    assert_eq!(command("/open"), Command::Open(None));
    assert_eq!(command("/open 2"), Command::Open(Some(PostRef::Number(2))));
}

#[test]
fn history_peers_help_quit() {
    assert_eq!(command("/history"), Command::History(DEFAULT_HISTORY));
    assert_eq!(command("/history 10"), Command::History(10));
    assert_eq!(command("/history 999999"), Command::History(MAX_HISTORY));
    assert!(hint("/history lots").contains("number"));
    assert!(hint("/history 0").contains("number"));
    assert_eq!(command("/peers"), Command::Peers);
    assert_eq!(command("/help"), Command::Help(None));
    assert_eq!(command("/? cw"), Command::Help(Some("cw".into())));
    assert_eq!(command("/quit"), Command::Quit);
    assert_eq!(command("/EXIT"), Command::Quit);
    assert_eq!(command("/q now"), Command::Quit);
}

#[test]
fn mistakes_get_one_gentle_line() {
    assert!(hint("/jion anxiety").contains("did you mean /join?"));
    assert!(hint("/hlep").contains("did you mean /help?"));
    assert!(hint("/blok x").contains("did you mean /block?"));
    assert!(hint("/hist").contains("did you mean /history?"));
    assert!(hint("/zzzzzz").contains("/help lists"));
    assert!(hint("/").contains("//"));
    let long = hint(&format!("/{}", "é".repeat(5000)));
    assert!(!long.contains('\n') && long.len() < 200);
    for line in [
        "/",
        "/ ",
        "/ü",
        "/🙂 hi",
        "/join 🙂",
        "/cw ,,,",
        "/cw , -- x",
        "/reply ##",
        "/switch -1",
    ] {
        let parsed = parse(line);
        if let Input::Hint(h) = parsed {
            assert!(!h.contains('\n'), "{line}");
        }
    }
}

#[test]
fn help_lists_every_command_and_details() {
    let all = help(None);
    for entry in HELP {
        assert!(all.iter().any(|l| l.contains(&format!("/{}", entry.name))));
    }
    assert!(help(Some("cw")).len() >= 2);
    assert!(help(Some("/exit"))[0].contains("/quit"));
    assert!(help(Some("nothing"))[0].contains("There's no"));
}

#[test]
fn warnings_read_well() {
    let w = ContentWarning::new([CwLabel::Death, CwLabel::SelfHarm], Some("note".into()));
    assert_eq!(describe_warning(&w), "self-harm, death — “note”");
    assert_eq!(
        describe_warning(&ContentWarning::new([], Some("x".into()))),
        "“x”"
    );
}

#[test]
fn report_needs_a_post_and_a_one_line_reason() {
    assert_eq!(
        command("/report 2 threatens someone"),
        Command::Report {
            target: PostRef::Number(2),
            reason: "threatens someone".into()
        }
    );
    assert_eq!(
        command("/report 3f2a9c1d spam"),
        Command::Report {
            target: PostRef::Id("3f2a9c1d".into()),
            reason: "spam".into()
        }
    );
    assert!(hint("/report").contains("Which post"));
    assert!(hint("/report 2").contains("say why"));
    assert!(hint(&format!("/report 2 {}", "x".repeat(281))).contains("280 bytes"));
    assert!(help(None).iter().any(|l| l.contains("/report ID|N REASON")));
}
