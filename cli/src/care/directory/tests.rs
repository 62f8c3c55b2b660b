//! The built-in directory's entries, the person's own file replacing it,
//! and what a broken file does.

use super::*;

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

/// The date the built-in entries were last confirmed.
const CHECKED: &str = "2026-12-01";

#[test]
fn every_built_in_entry_has_a_source_a_valid_date_and_a_valid_country() {
    // Parsing checks every field; this also pins what parsing promises.
    let directory = Directory::parse(Path::new("crisis-lines.toml"), BUILT_IN).unwrap();
    assert_eq!(&directory, Directory::built_in());
    assert!(directory.lines.len() >= 10, "{}", directory.lines.len());
    assert!(!directory.international.is_empty());
    let today = date(CHECKED);
    let mut checks: Vec<&Checked> = directory.lines.iter().map(|l| &l.checked).collect();
    checks.extend(directory.emergency.iter().map(|e| &e.checked));
    checks.extend(directory.international.iter().map(|i| &i.checked));
    for check in checks {
        assert!(
            check.source.starts_with("https://") || check.source.starts_with("http://"),
            "{}",
            check.source
        );
        assert!(check.on <= today, "{:?} is in the future", check.on);
        assert!(!check.is_stale(today), "{:?} is stale", check.on);
    }
    for line in &directory.lines {
        assert_eq!(Country::parse(line.country.code()), Some(line.country));
        assert!(!line.country.name().is_empty());
        assert!(!line.reach.is_empty(), "{}", line.service);
    }
    for entry in &directory.emergency {
        for country in &entry.countries {
            assert_eq!(Country::parse(country.code()), Some(*country));
        }
    }
    let names: Vec<&str> = directory
        .international
        .iter()
        .map(|i| i.service.as_str())
        .collect();
    assert_eq!(names, ["Befrienders Worldwide", "Find A Helpline"]);
}

#[test]
fn the_built_in_directory_has_the_confirmed_lines() {
    let d = Directory::built_in();
    let reach = |code: &str| -> Vec<String> {
        d.lines_for(Country::parse(code).unwrap())
            .flat_map(|l| l.reach.iter().map(Reach::describe))
            .collect()
    };
    assert!(reach("US").contains(&"call 988".to_owned()));
    assert!(reach("US").contains(&"text HOME to 741741".to_owned()));
    assert_eq!(reach("GB"), ["call 116 123", "text SHOUT to 85258"]);
    assert_eq!(reach("IE"), ["call 116 123"]);
    assert_eq!(reach("AU"), ["call 13 11 14"]);
    assert_eq!(reach("NZ"), ["call 1737", "text 1737"]);
    assert_eq!(reach("FR"), ["call 3114"]);
    assert_eq!(reach("DE"), ["call 0800 111 0 111", "call 0800 111 0 222"]);
    let emergency = |code: &str| -> Vec<&str> {
        d.emergency_for(Country::parse(code).unwrap())
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    };
    assert_eq!(emergency("US"), ["911"]);
    assert_eq!(emergency("CA"), ["911"]);
    assert_eq!(emergency("GB"), ["999"]);
    assert_eq!(emergency("IE"), ["112", "999"]);
    assert_eq!(emergency("AU"), ["000"]);
    assert_eq!(emergency("NZ"), ["111"]);
    assert_eq!(emergency("IN"), ["112"]);
    assert_eq!(emergency("BR"), ["192", "190"]);
    assert_eq!(emergency("ES"), ["112"]);
    assert!(emergency("JP").is_empty());
}

#[test]
fn entries_older_than_twelve_months_are_stale() {
    let checked = date("2025-11-30");
    assert!(!is_stale(checked, date("2026-11-30")));
    assert!(is_stale(checked, date("2026-12-01")));
    assert!(!is_stale(date("2026-12-01"), date("2026-12-01")));
    // Month ends: 29 February plus a year is the end of February.
    assert!(!is_stale(date("2024-02-29"), date("2025-02-28")));
    assert!(is_stale(date("2024-02-29"), date("2025-03-01")));
}

const OWN: &str = r#"
[[line]]
country = "GB"
service = "A local line"
reach = [{ how = "call", to = "0800 000 000" }]
hours = "evenings"
languages = ["en", "cy"]
source = "https://example.org/local"
checked = "2024-01-15"
"#;

#[test]
fn a_file_in_the_data_directory_replaces_the_built_in_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(FILE_NAME), OWN).unwrap();
    let (directory, warning) = Directory::load(dir.path());
    assert_eq!(warning, None);
    assert_eq!(directory.lines.len(), 1);
    let line = &directory.lines[0];
    assert_eq!(line.service, "A local line");
    assert!(line.checked.is_stale(date(CHECKED)));
    // No international entries in the file: the built-in ones stay.
    assert_eq!(directory.international, Directory::built_in().international);
    assert!(directory.emergency.is_empty());

    let empty = tempfile::tempdir().unwrap();
    let (directory, warning) = Directory::load(empty.path());
    assert_eq!((&directory, warning), (Directory::built_in(), None));
}

#[test]
fn a_broken_file_gives_a_warning_naming_file_and_line_and_the_built_in_directory() {
    let cases: [(&str, &str, &[&str]); 6] = [
        ("[[line]]\ncountry = \"GB\n", "line 2", &[]),
        (
            &OWN.replace("\"GB\"", "\"XX\""),
            "line 2",
            &["invalid country \"XX\""],
        ),
        (
            &OWN.replace("https://example.org/local", "example.org"),
            "line 2",
            &["invalid `source`"],
        ),
        (
            &OWN.replace("2024-01-15", "15/01/2024"),
            "line 2",
            &["YYYY-MM-DD"],
        ),
        (
            &OWN.replace("2024-01-15", "2024-02-30"),
            "line 2",
            &["invalid `checked`"],
        ),
        (
            &format!("{OWN}\n[[line]]\nnumber = 1\n"),
            "line 12",
            &["unknown field `number`"],
        ),
    ];
    for (text, line, wanted) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, text).unwrap();
        let (directory, warning) = Directory::load(dir.path());
        assert_eq!(&directory, Directory::built_in(), "{text}");
        let warning = warning.unwrap();
        assert!(
            warning.contains(&format!("{}, {line}", path.display())),
            "{warning}"
        );
        assert!(warning.contains("using the crisis lines built into hearth"));
        for part in wanted {
            assert!(warning.contains(part), "{part:?} not in {warning}");
        }
    }
}

#[test]
fn hostile_files_are_refused_without_reading_them_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let big = vec![b'#'; usize::try_from(MAX_FILE_BYTES).unwrap() + 10];
    std::fs::write(&path, big).unwrap();
    let (_, warning) = Directory::load(dir.path());
    assert!(warning.unwrap().contains("larger than"));

    std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
    let (_, warning) = Directory::load(dir.path());
    assert!(warning.unwrap().contains("not UTF-8"));

    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let (directory, warning) = Directory::load(dir.path());
    assert_eq!(&directory, Directory::built_in());
    assert!(warning.unwrap().contains("not a regular file"));

    let text = OWN.replace("A local line", "A \u{202E}line");
    let error = Directory::parse(Path::new("x.toml"), &text).unwrap_err();
    assert!(error.message.contains("plain text"), "{error}");
}
