//! Reading the OpenMetrics text format that `GET /metrics` serves, strictly
//! enough to catch a broken exposition: metadata before samples, each
//! family once, sample names that belong to their family's type, quoted and
//! escaped label values, numeric values, and the closing `# EOF`. For
//! health checks and tests; Prometheus itself is the real reader.

use thiserror::Error;

/// One metric family: its metadata and samples.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    /// The family's name (`hearth_posts_received`, without `_total`).
    pub name: String,
    /// Its type: `counter`, `gauge`, `histogram`, … (`unknown` when no
    /// `# TYPE` line was given).
    pub kind: String,
    /// Its help text, unescaped.
    pub help: Option<String>,
    /// Its unit, if given.
    pub unit: Option<String>,
    /// Its samples in order.
    pub samples: Vec<Sample>,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The sample's name (`hearth_posts_received_total`).
    pub name: String,
    /// Its labels in order, values unescaped.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: f64,
}

/// Why a text is not a valid exposition.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {problem}")]
pub struct ExpositionError {
    /// The 1-based line.
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

const TYPES: [&str; 8] = [
    "counter",
    "gauge",
    "histogram",
    "gaugehistogram",
    "stateset",
    "info",
    "summary",
    "unknown",
];

/// Parses a whole exposition, which must end with `# EOF`.
pub fn parse(text: &str) -> Result<Vec<MetricFamily>, ExpositionError> {
    let mut families: Vec<MetricFamily> = Vec::new();
    let mut ended = false;
    let mut lines = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        lines = number;
        let fail = |problem: String| ExpositionError {
            line: number,
            problem,
        };
        if ended {
            return Err(fail("text after # EOF".to_owned()));
        }
        let line = line
            .strip_suffix('\n')
            .ok_or_else(|| fail("the line does not end with a newline".to_owned()))?;
        if line == "# EOF" {
            ended = true;
        } else if let Some(meta) = line.strip_prefix("# ") {
            metadata(&mut families, meta).map_err(fail)?;
        } else {
            let sample = sample(line).map_err(fail)?;
            let family = family_of(&mut families, &sample.name).map_err(fail)?;
            family.samples.push(sample);
        }
    }
    if !ended {
        return Err(ExpositionError {
            line: lines,
            problem: "the text does not end with # EOF".to_owned(),
        });
    }
    Ok(families)
}

/// The value of the first sample named `name` whose labels include
/// `labels`.
pub fn value(families: &[MetricFamily], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    families
        .iter()
        .flat_map(|f| &f.samples)
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v))
        })
        .map(|s| s.value)
}

fn metadata(families: &mut Vec<MetricFamily>, meta: &str) -> Result<(), String> {
    let (keyword, rest) = meta
        .split_once(' ')
        .ok_or_else(|| format!("a comment line that is not HELP, TYPE or UNIT: # {meta}"))?;
    let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
    check_name(name)?;
    let index = match families.iter().position(|f| f.name == name) {
        // Metadata belongs before the family's samples, in one block.
        Some(i) if i + 1 == families.len() && families[i].samples.is_empty() => i,
        Some(_) => return Err(format!("metadata of {name} after its samples or split up")),
        None => {
            families.push(MetricFamily {
                name: name.to_owned(),
                kind: "unknown".to_owned(),
                help: None,
                unit: None,
                samples: Vec::new(),
            });
            families.len() - 1
        }
    };
    let family = families
        .get_mut(index)
        .ok_or_else(|| "internal: family index".to_owned())?;
    match keyword {
        "HELP" if family.help.is_none() => family.help = Some(unescape(value, false)?),
        "TYPE" if family.kind == "unknown" && TYPES.contains(&value) => {
            family.kind = value.to_owned();
        }
        "TYPE" if family.kind == "unknown" => return Err(format!("unknown type {value:?}")),
        "UNIT" if family.unit.is_none() => {
            if !value.is_empty() && !name.ends_with(&format!("_{value}")) {
                return Err(format!("{name} has unit {value} but does not end with it"));
            }
            family.unit = Some(value.to_owned());
        }
        "HELP" | "TYPE" | "UNIT" => return Err(format!("a second {keyword} for {name}")),
        other => return Err(format!("unknown metadata {other:?}")),
    }
    Ok(())
}

/// The family a sample belongs to: the last one, if the sample's name is
/// one its type allows, else a new untyped family of that name.
fn family_of<'a>(
    families: &'a mut Vec<MetricFamily>,
    sample: &str,
) -> Result<&'a mut MetricFamily, String> {
    let belongs = families.last().is_some_and(|f| {
        let suffixes: &[&str] = match f.kind.as_str() {
            "counter" => &["_total", "_created"],
            "histogram" | "gaugehistogram" => {
                &["_bucket", "_count", "_sum", "_created", "_gcount", "_gsum"]
            }
            "summary" => &["", "_count", "_sum", "_created"],
            "info" => &["_info"],
            _ => &[""],
        };
        sample
            .strip_prefix(f.name.as_str())
            .is_some_and(|rest| suffixes.contains(&rest))
    });
    if !belongs {
        let taken = |f: &MetricFamily| {
            f.name == sample || (f.kind != "unknown" && sample.starts_with(&format!("{}_", f.name)))
        };
        if families.iter().any(taken) {
            return Err(format!("sample {sample} is apart from its family"));
        }
        families.push(MetricFamily {
            name: sample.to_owned(),
            kind: "unknown".to_owned(),
            help: None,
            unit: None,
            samples: Vec::new(),
        });
    }
    families
        .last_mut()
        .ok_or_else(|| "internal: no family".to_owned())
}

fn sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(['{', ' '])
        .ok_or_else(|| format!("a sample without a value: {line:?}"))?;
    let (name, mut rest) = line.split_at(name_end);
    check_name(name)?;
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let (parsed, after) = label_set(inner)?;
        labels = parsed;
        rest = after;
    }
    let rest = rest
        .strip_prefix(' ')
        .ok_or_else(|| format!("no space before the value of {name}"))?;
    // An exemplar (after " # ") is not checked further.
    let rest = rest.split(" # ").next().unwrap_or(rest);
    let mut parts = rest.split(' ');
    let value = parts.next().unwrap_or("");
    let value = number(value).ok_or_else(|| format!("{value:?} is not a number ({name})"))?;
    if let Some(timestamp) = parts.next()
        && number(timestamp).is_none()
    {
        return Err(format!("{timestamp:?} is not a timestamp ({name})"));
    }
    if parts.next().is_some() {
        return Err(format!("more than a value and a timestamp after {name}"));
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

type Labels = Vec<(String, String)>;

/// Labels up to the closing `}`, and the text after it.
fn label_set(mut text: &str) -> Result<(Labels, &str), String> {
    let mut labels: Labels = Vec::new();
    loop {
        if let Some(after) = text.strip_prefix('}') {
            return Ok((labels, after));
        }
        if !labels.is_empty() {
            text = text
                .strip_prefix(',')
                .ok_or_else(|| "labels not separated by a comma".to_owned())?;
        }
        let (name, rest) = text
            .split_once("=\"")
            .ok_or_else(|| "a label without =\"value\"".to_owned())?;
        check_name(name)?;
        if name.contains(':') || labels.iter().any(|(n, _)| n == name) {
            return Err(format!("label {name:?} is invalid or repeated"));
        }
        let (value, after) = quoted(rest)?;
        labels.push((name.to_owned(), value));
        text = after;
    }
}

/// A label value up to its closing quote, unescaped, and the rest.
fn quoted(text: &str) -> Result<(String, &str), String> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => {
                let value = unescape(text.get(..i).unwrap_or(""), true)?;
                return Ok((value, text.get(i + 1..).unwrap_or("")));
            }
            _ => {}
        }
    }
    Err("a label value without its closing quote".to_owned())
}

fn unescape(text: &str, in_quotes: bool) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('"') => out.push('"'),
                other => return Err(format!("invalid escape \\{}", other.unwrap_or(' '))),
            },
            '"' if in_quotes => return Err("an unescaped quote".to_owned()),
            _ => out.push(c),
        }
    }
    Ok(out)
}

fn number(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ if text
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
            && !text.is_empty() =>
        {
            text.parse().ok()
        }
        _ => None,
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        Ok(())
    } else {
        Err(format!("{name:?} is not a metric or label name"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const GOOD: &str = "# HELP up_seconds Time up.\n# TYPE up_seconds gauge\n\
        # UNIT up_seconds seconds\nup_seconds 1.5\n\
        # HELP req Requests \\n served.\n# TYPE req counter\n\
        req_total{path=\"/a\",code=\"2\\\"00\"} 7\nreq_created 17e8\n\
        loose 3 1700000000\n# EOF\n";

    #[test]
    fn a_valid_exposition_gives_its_families_and_samples() {
        let families = parse(GOOD).unwrap();
        let names: Vec<_> = families.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["up_seconds", "req", "loose"]);
        assert_eq!(families[0].unit.as_deref(), Some("seconds"));
        assert_eq!(families[1].kind, "counter");
        assert_eq!(families[1].help.as_deref(), Some("Requests \n served."));
        assert_eq!(value(&families, "up_seconds", &[]), Some(1.5));
        assert_eq!(
            value(&families, "req_total", &[("code", "2\"00")]),
            Some(7.0)
        );
        assert_eq!(value(&families, "req_total", &[("code", "404")]), None);
        assert_eq!(value(&families, "loose", &[]), Some(3.0));
    }

    #[test]
    fn broken_expositions_are_refused_with_their_line() {
        let cases = [
            ("no eof", GOOD.replace("# EOF\n", "")),
            ("after eof", format!("{GOOD}x 1\n")),
            ("no newline", GOOD.trim_end().to_owned()),
            (
                "bad value",
                GOOD.replace("up_seconds 1.5", "up_seconds fast"),
            ),
            ("bad type", GOOD.replace("req counter", "req dial")),
            (
                "two help",
                GOOD.replace("# TYPE req counter", "# HELP req again"),
            ),
            (
                "unit mismatch",
                GOOD.replace("UNIT up_seconds seconds", "UNIT up_seconds bytes"),
            ),
            ("bad label", GOOD.replace("path=\"/a\"", "path=/a")),
            ("open quote", GOOD.replace("\"/a\"", "\"/a")),
            ("bad name", GOOD.replace("loose 3", "9loose 3")),
            (
                "split family",
                format!("{}req_total 1\n# EOF\n", GOOD.replace("# EOF\n", "")),
            ),
            (
                "stray comment",
                GOOD.replace("# TYPE req counter", "# hello"),
            ),
        ];
        for (what, text) in cases {
            assert!(parse(&text).is_err(), "{what} was accepted:\n{text}");
        }
    }
}
