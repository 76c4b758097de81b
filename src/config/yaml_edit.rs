//! Writing one changed value back into a YAML file while keeping the rest of it (comments, order) as the
//! user left it.

use serde_json::Value;

/// Returns `text` with `segments` set to its value in `new_raw`. A top-level key is edited in place, keeping
/// the line's comment (the value is written as JSON, which is valid YAML flow syntax); anything deeper, or
/// an edit that would not read back as `new_raw`, rewrites the whole file.
pub fn set(text: &str, segments: &[&str], new_raw: &Value) -> String {
    if let [key] = segments {
        let value = &new_raw[*key];
        let edited = edit_top_level_line(text, key, value);
        if super::parse_yaml(&edited).ok().as_ref() == Some(new_raw) {
            return edited;
        }
    }
    serde_saphyr::to_string(new_raw).expect("config values serialize to YAML")
}

fn edit_top_level_line(text: &str, key: &str, value: &Value) -> String {
    let rendered = format!("{key}: {}", serde_json::to_string(value).expect("JSON values serialize"));
    let prefix = format!("{key}:");
    let mut found = false;
    let mut lines: Vec<String> = text
        .lines()
        .map(|line| {
            if !found && line.starts_with(&prefix) {
                found = true;
                match trailing_comment(&line[prefix.len()..]) {
                    Some(comment) => format!("{rendered} {comment}"),
                    None => rendered.clone(),
                }
            } else {
                line.to_string()
            }
        })
        .collect();
    if !found {
        lines.push(rendered);
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// The `# ...` that ends a YAML line, if any, ignoring `#` inside quotes.
fn trailing_comment(rest: &str) -> Option<&str> {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, c) in rest.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if previous.is_whitespace() => return Some(&rest[i..]),
            _ => {}
        }
        previous = c;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_comments_and_other_lines() {
        let text = "# header\nport: 15888 # the port\nlogLevel: info\n";
        let new_raw = json!({"port": 16000, "logLevel": "info"});
        assert_eq!(set(text, &["port"], &new_raw), "# header\nport: 16000 # the port\nlogLevel: info\n");
    }

    #[test]
    fn appends_a_key_the_file_lacks() {
        let new_raw = json!({"port": 1, "gasPrice": 2.5});
        assert_eq!(set("port: 1\n", &["gasPrice"], &new_raw), "port: 1\ngasPrice: 2.5\n");
    }

    #[test]
    fn writes_lists_as_flow_sequences() {
        let new_raw = json!({"nodeURL": ["http://a:1", "http://b:2"]});
        let out = set("nodeURL: http://a:1\n", &["nodeURL"], &new_raw);
        assert_eq!(out, "nodeURL: [\"http://a:1\",\"http://b:2\"]\n");
    }

    #[test]
    fn hash_inside_quotes_is_not_a_comment() {
        assert_eq!(trailing_comment(" 'a # b' # c"), Some("# c"));
        assert_eq!(trailing_comment(" http://x/#frag"), None);
    }
}
