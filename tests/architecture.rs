//! The shape of the code, checked without a node: no module imports another that imports it back (in any crate),
//! no function or file past its size, no string errors below the server, and the HTTP layer kept to HTTP.
//!
//! The sources are read as text: comments, strings and `#[cfg(test)]` items are set aside, then every `use` tree
//! and every path that starts at `crate`, `super`, `self` or a child module is resolved to the file that defines
//! the module it names. Run alone with `cargo test --test architecture`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The library crates, by their source folder.
const CRATES: [&str; 4] = ["chains/src", "connectors/src", "devnet/src", "src"];
/// Longest non-test function, in lines from its `fn` to its closing brace (binaries included).
const MAX_FUNCTION_LINES: usize = 80;
/// Longest file, in lines outside its tests.
const MAX_FILE_LINES: usize = 600;

/// Fails listing what a check found, with the repository's root left out of each line.
fn judge(found: Vec<String>, what: &str) {
    let root = format!("{}/", root().display());
    let found: Vec<String> = found.into_iter().map(|line| line.replace(&root, "")).collect();
    assert!(found.is_empty(), "{what}:\n{}", found.join("\n"));
}

#[test]
fn no_crate_has_an_import_cycle() {
    let mut found = Vec::new();
    for krate in crates() {
        for cycle in krate.cycles() {
            found.push(format!("cycle: {}", cycle.join(", ")));
        }
    }
    judge(found, "modules that import each other, directly or not");
}

#[test]
fn no_function_is_over_80_lines_and_no_file_over_600() {
    let mut found = Vec::new();
    for path in CRATES.iter().flat_map(|dir| rust_files(&root().join(dir))) {
        let source = Source::read(&path);
        if source.code_lines > MAX_FILE_LINES {
            found.push(format!("size: {} is over {MAX_FILE_LINES} lines", path.display()));
        }
        for (name, _, length) in source.code.functions() {
            if length > MAX_FUNCTION_LINES {
                found.push(format!("size: {} fn {name} is over {MAX_FUNCTION_LINES} lines", path.display()));
            }
        }
    }
    judge(found, "past the size limits");
}

#[test]
fn chains_and_connectors_return_no_string_errors() {
    let mut found = Vec::new();
    for folder in ["chains", "connectors"] {
        for path in rust_files(&root().join(folder)) {
            let text = std::fs::read_to_string(&path).expect("readable source");
            for line in text.lines() {
                if string_error(line) {
                    found.push(format!("string error: {}: {}", path.display(), line.trim()));
                }
            }
        }
    }
    judge(found, "errors as strings (give them a type)");
}

#[test]
fn the_http_layer_makes_no_ledger_call() {
    let mut found = Vec::new();
    for path in rust_files(&root().join("src/http")) {
        let code = Source::read(&path).code;
        let tokens = &code.tokens;
        let calls_ledger = tokens.windows(3).any(|w| w[0].text == "." && w[1].text == "ledger" && w[2].text == "(");
        let imports: Vec<String> = code.paths().into_iter().map(|(path, _)| path.join("::")).collect();
        let reaches = ["Ledger", "TxSender", "inquiry", "record_receipt"].iter().find(|name| {
            imports.iter().any(|path| path.starts_with("chains") && path.split("::").any(|part| part == **name))
        });
        if calls_ledger {
            found.push(format!("ledger in http: {} calls the ledger", path.display()));
        }
        if let Some(name) = reaches {
            found.push(format!("ledger in http: {} uses {name}", path.display()));
        }
    }
    judge(found, "src/http reaches the ledger (the use cases in src/app do)");
}

#[test]
fn trading_type_names_in_the_server_are_serde_names_and_docs_only() {
    let mut found = Vec::new();
    for path in rust_files(&root().join("src")) {
        for literal in Source::read(&path).code.literals {
            if ["\"amm\"", "\"clmm\"", "\"router\""].contains(&literal.text.as_str()) && !literal.in_attribute {
                found.push(format!("trading type: {} spells {}", path.display(), literal.text));
            }
        }
    }
    found.sort();
    found.dedup();
    judge(found, "trading types spelled out in code (use connectors' TradingType)");
}

#[test]
fn the_checker_reads_paths_cycles_and_sizes() {
    let code = Code::lex(
        "use crate::a::{b::{self, C}, d as e};\nuse super::f;\n// crate::not_this\nfn g() {\n    let s = \"crate::nor_this\";\n    crate::h::i();\n}\n#[cfg(test)]\nmod tests { use crate::j; }\n",
    );
    let paths: Vec<String> = code.paths().iter().map(|(path, _)| path.join("::")).collect();
    assert_eq!(paths, ["crate::a::b", "crate::a::b::C", "crate::a::d", "super::f", "crate::h::i"]);
    assert_eq!(code.functions(), vec![("g".to_string(), 4, 4)]);
    assert!(string_error("fn f() -> Result<u8, String> {") && !string_error("fn f() -> Result<u8, MyError> {"));
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    graph.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    graph.insert("d".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(cycles_of(&graph), vec![vec!["a".to_string(), "b".to_string(), "c".to_string()]]);
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn string_error(line: &str) -> bool {
    let Some(at) = line.find("Result<") else { return false };
    let rest = &line[at..];
    let end = rest.find([';', '{']).unwrap_or(rest.len());
    rest[..end].contains(", String>")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return files };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// One library crate: its files by module path (`[]` is `lib.rs`).
struct Crate {
    files: BTreeMap<Vec<String>, SourceFile>,
}

struct SourceFile {
    path: PathBuf,
    /// Paths as written, with the inline modules they are written in.
    paths: Vec<(Vec<String>, usize)>,
    /// Child modules declared in the file (`mod x;`), which a path may start with.
    children: BTreeSet<String>,
    /// Names the file re-exports (`pub use a::b::Name;`), with the path they come from.
    reexports: BTreeMap<String, Vec<String>>,
}

fn crates() -> Vec<Crate> {
    CRATES
        .iter()
        .map(|dir| root().join(dir))
        .filter(|dir| dir.join("lib.rs").exists())
        .map(|dir| Crate::read(&dir))
        .collect()
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let mut files = BTreeMap::new();
        for path in rust_files(src) {
            let relative = path.strip_prefix(src).expect("under src");
            let mut module: Vec<String> =
                relative.iter().map(|part| part.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
            // A binary's root is a crate of its own.
            if module.first().is_some_and(|first| first == "bin") || module == ["main"] {
                continue;
            }
            if module.last().is_some_and(|last| last == "mod" || last == "lib") {
                module.pop();
            }
            let source = Source::read(&path);
            files.insert(
                module,
                SourceFile {
                    path: path.clone(),
                    paths: source.code.paths(),
                    children: source.code.child_modules(),
                    reexports: source.code.reexports(),
                },
            );
        }
        Crate { files }
    }

    /// The file a path written in `module` leads to, if it is one of the crate's.
    fn resolve(
        &self,
        module: &[String],
        file: &SourceFile,
        path: &[String],
        inline: usize,
        depth: usize,
    ) -> Option<Vec<String>> {
        let (mut base, rest): (Vec<String>, &[String]) = match path.first().map(String::as_str) {
            Some("crate") => (vec![], &path[1..]),
            // Within an inline module, `self` is that module, in this file.
            Some("self") if inline > 0 => return None,
            Some("self") => (module.to_vec(), &path[1..]),
            Some("super") => {
                let mut base = module.to_vec();
                let mut rest = path;
                let mut climbed = 0;
                while rest.first().is_some_and(|segment| segment == "super") {
                    climbed += 1;
                    if climbed > inline {
                        base.pop();
                    }
                    rest = &rest[1..];
                }
                if climbed <= inline && rest.is_empty() {
                    return None;
                }
                (base, rest)
            }
            Some(first) if file.children.contains(first) => (module.to_vec(), path),
            _ => return None,
        };
        let mut found = self.files.contains_key(&base).then(|| base.clone());
        let mut item = None;
        for segment in rest {
            base.push(segment.clone());
            if self.files.contains_key(&base) {
                found = Some(base.clone());
            } else {
                item = Some(segment.clone());
                break;
            }
        }
        let found = found?;
        // A name the module re-exports is the defining file's (followed a few steps, as re-exports chain).
        if let Some(item) = item
            && let Some(target) = self.files[&found].reexports.get(&item)
            && depth < 4
        {
            return self.resolve(&found, &self.files[&found], target, 0, depth + 1).or(Some(found));
        }
        Some(found)
    }

    /// Who imports whom, file by file. An import of an ancestor (the `mod.rs` that declares a module, or the crate
    /// root) is not an arrow: a module's parent is its namespace. A name an ancestor only re-exports leads on to
    /// the file that defines it.
    fn graph(&self) -> BTreeMap<String, BTreeSet<String>> {
        let name = |module: &Vec<String>| self.files[module].path.display().to_string();
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (module, file) in &self.files {
            let edges = graph.entry(name(module)).or_default();
            for (path, inline) in &file.paths {
                let Some(target) = self.resolve(module, file, path, *inline, 0) else { continue };
                if target != *module && !module.starts_with(&target) {
                    edges.insert(name(&target));
                }
            }
        }
        graph
    }

    fn cycles(&self) -> Vec<Vec<String>> {
        cycles_of(&self.graph())
    }
}

/// The strongly connected groups of more than one node (Tarjan), each sorted.
fn cycles_of(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        groups: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, node: &'a str) {
            let next = self.index.len();
            self.index.insert(node, next);
            self.low.insert(node, next);
            self.stack.push(node);
            self.on_stack.insert(node);
            for target in self.graph.get(node).into_iter().flatten() {
                let target = target.as_str();
                if !self.index.contains_key(target) {
                    self.visit(target);
                    let low = self.low[node].min(self.low[target]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(target) {
                    let low = self.low[node].min(self.index[target]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut group = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    group.push(member.to_string());
                    if member == node {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.groups.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.groups
}

/// A file's code with its tests set aside.
struct Source {
    code: Code,
    code_lines: usize,
}

impl Source {
    fn read(path: &Path) -> Source {
        let text = std::fs::read_to_string(path).expect("readable source");
        let code = Code::lex(&text);
        let test_lines: usize = code.test_spans.iter().map(|(from, to)| to - from + 1).sum();
        Source { code_lines: text.lines().count().saturating_sub(test_lines), code }
    }
}

#[derive(Debug, Clone)]
struct Token {
    text: String,
    line: usize,
}

struct Literal {
    text: String,
    line: usize,
    /// Inside `#[...]`: a serde name, an example, a doc.
    in_attribute: bool,
}

/// Tokens of code (no comments, no literals, no `#[cfg(test)]` items), and the string literals apart.
struct Code {
    tokens: Vec<Token>,
    literals: Vec<Literal>,
    /// Lines of `#[cfg(test)]` items, first and last.
    test_spans: Vec<(usize, usize)>,
}

impl Code {
    fn lex(text: &str) -> Code {
        let (raw, literals) = tokenize(text);
        let mut tokens = Vec::new();
        let mut test_spans = Vec::new();
        let mut kept_literals = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            if is_cfg_test(&raw, i) {
                let start = raw[i].line;
                let end = item_end(&raw, i + 7);
                test_spans.push((start, raw[end.min(raw.len() - 1)].line));
                i = end + 1;
                continue;
            }
            tokens.push(raw[i].clone());
            i += 1;
        }
        for literal in literals {
            if !test_spans.iter().any(|(from, to)| (*from..=*to).contains(&literal.line)) {
                kept_literals.push(literal);
            }
        }
        Code { tokens, literals: kept_literals, test_spans }
    }

    /// Every path the code names: the leaves of its `use` trees, and paths written in place; each with how many
    /// inline modules (`mod x { .. }`) of the file it is written in, which its first `super`s climb out of.
    fn paths(&self) -> Vec<(Vec<String>, usize)> {
        let tokens = &self.tokens;
        let mut paths = Vec::new();
        // The brace depth each enclosing inline module opened at.
        let mut inline: Vec<usize> = Vec::new();
        let mut depth = 0usize;
        let mut i = 0;
        while i < tokens.len() {
            match tokens[i].text.as_str() {
                "{" => {
                    if i >= 2 && tokens[i - 2].text == "mod" {
                        inline.push(depth);
                    }
                    depth += 1;
                }
                "}" => {
                    depth = depth.saturating_sub(1);
                    if inline.last() == Some(&depth) {
                        inline.pop();
                    }
                }
                _ => {}
            }
            if tokens[i].text == "use" {
                let end = (i..tokens.len()).find(|&j| tokens[j].text == ";").unwrap_or(tokens.len());
                let mut leaves = Vec::new();
                use_tree(&tokens[i + 1..end], &[], &mut leaves);
                paths.extend(leaves.into_iter().map(|leaf| (leaf, inline.len())));
                i = end + 1;
                continue;
            }
            let starts_path = i + 2 < tokens.len()
                && is_ident(&tokens[i].text)
                && tokens[i + 1].text == "::"
                && (i == 0 || tokens[i - 1].text != "::");
            if starts_path {
                let mut path = vec![tokens[i].text.clone()];
                let mut j = i + 1;
                while j + 1 < tokens.len() && tokens[j].text == "::" && is_ident(&tokens[j + 1].text) {
                    path.push(tokens[j + 1].text.clone());
                    j += 2;
                }
                paths.push((path, inline.len()));
                i = j;
                continue;
            }
            i += 1;
        }
        paths
    }

    /// Names re-exported by `pub use` (not globs), each with its whole path.
    fn reexports(&self) -> BTreeMap<String, Vec<String>> {
        let tokens = &self.tokens;
        let mut names = BTreeMap::new();
        for i in 0..tokens.len() {
            if tokens[i].text != "pub" {
                continue;
            }
            let Some(at) = (i + 1..tokens.len().min(i + 6)).find(|&j| tokens[j].text == "use") else { continue };
            if tokens[i + 1..at].iter().any(|token| token.text != "(" && token.text != ")" && token.text != "crate") {
                continue;
            }
            let end = (at..tokens.len()).find(|&j| tokens[j].text == ";").unwrap_or(tokens.len());
            let mut leaves = Vec::new();
            use_tree(&tokens[at + 1..end], &[], &mut leaves);
            for leaf in leaves {
                if let Some(last) = leaf.last() {
                    names.insert(last.clone(), leaf);
                }
            }
        }
        names
    }

    /// Modules declared as files of their own: `mod x;`.
    fn child_modules(&self) -> BTreeSet<String> {
        let tokens = &self.tokens;
        let mut children = BTreeSet::new();
        for i in 0..tokens.len().saturating_sub(2) {
            if tokens[i].text == "mod" && tokens[i + 2].text == ";" {
                children.insert(tokens[i + 1].text.clone());
            }
        }
        children
    }

    /// Each function with a body: its name, the line of its `fn`, and its length in lines.
    fn functions(&self) -> Vec<(String, usize, usize)> {
        let tokens = &self.tokens;
        let mut functions = Vec::new();
        for i in 0..tokens.len().saturating_sub(1) {
            if tokens[i].text != "fn" || !is_ident(&tokens[i + 1].text) {
                continue;
            }
            let Some(open) = (i..tokens.len()).find(|&j| tokens[j].text == "{" || tokens[j].text == ";") else {
                continue;
            };
            if tokens[open].text == ";" {
                continue;
            }
            let close = matching(tokens, open);
            let length = tokens[close].line - tokens[i].line + 1;
            functions.push((tokens[i + 1].text.clone(), tokens[i].line, length));
        }
        functions
    }
}

fn is_ident(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// Whether `#[cfg(test)]` starts at `i`.
fn is_cfg_test(tokens: &[Token], i: usize) -> bool {
    let expected = ["#", "[", "cfg", "(", "test", ")", "]"];
    tokens.len() > i + expected.len() && expected.iter().enumerate().all(|(k, text)| tokens[i + k].text == *text)
}

/// The last token of the item that begins at or after `from`: its closing brace, or its semicolon.
fn item_end(tokens: &[Token], from: usize) -> usize {
    let mut j = from;
    while j < tokens.len() {
        match tokens[j].text.as_str() {
            "{" => return matching(tokens, j),
            ";" => return j,
            _ => j += 1,
        }
    }
    tokens.len()
}

fn matching(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (j, token) in tokens.iter().enumerate().skip(open) {
        match token.text.as_str() {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => {}
        }
    }
    tokens.len() - 1
}

/// Expands a `use` tree (without `use` and `;`) into its leaves, each prefixed with `prefix`.
fn use_tree(tokens: &[Token], prefix: &[String], out: &mut Vec<Vec<String>>) {
    let tokens: Vec<&Token> = tokens.iter().filter(|token| token.text != "pub").collect();
    let mut i = 0;
    // `pub(crate) use`: the visibility's parentheses come before the tree.
    if tokens.first().is_some_and(|token| token.text == "(") {
        while i < tokens.len() && tokens[i].text != ")" {
            i += 1;
        }
        i += 1;
    }
    let mut path = prefix.to_vec();
    while i < tokens.len() {
        match tokens[i].text.as_str() {
            "::" => i += 1,
            "{" => {
                let owned: Vec<Token> = tokens.iter().map(|token| (*token).clone()).collect();
                let close = matching(&owned, i);
                let mut depth = 0;
                let mut start = i + 1;
                for j in i + 1..close {
                    match owned[j].text.as_str() {
                        "{" => depth += 1,
                        "}" => depth -= 1,
                        "," if depth == 0 => {
                            use_tree(&owned[start..j], &path, out);
                            start = j + 1;
                        }
                        _ => {}
                    }
                }
                if start < close {
                    use_tree(&owned[start..close], &path, out);
                }
                return;
            }
            "as" => break,
            "*" => break,
            "self" if !path.is_empty() => i += 1,
            text => {
                path.push(text.to_string());
                i += 1;
            }
        }
    }
    // `{self}` leaves the path at its prefix: it names the prefix itself.
    if !path.is_empty() {
        out.push(path);
    }
}

/// Splits source text into tokens, with comments dropped and string literals kept apart.
fn tokenize(text: &str) -> (Vec<Token>, Vec<Literal>) {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut literals = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Depth in `#[...]`, counted in brackets from the attribute's own.
    let mut attribute: Option<usize> = None;
    let mut brackets = 0usize;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
            continue;
        }
        // Raw strings: r"..", r#".."#, br#".."#.
        let raw_start = match (c, next) {
            ('r', Some('"' | '#')) => Some(i + 1),
            ('b', Some('r')) if matches!(chars.get(i + 2), Some('"' | '#')) => Some(i + 2),
            _ => None,
        };
        if let Some(mut j) = raw_start {
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) == Some(&'"') {
                let start_line = line;
                let start = i;
                j += 1;
                loop {
                    if j >= chars.len() {
                        break;
                    }
                    if chars[j] == '\n' {
                        line += 1;
                    }
                    if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                let text: String = chars[start..j].iter().collect();
                literals.push(Literal { text, line: start_line, in_attribute: attribute.is_some() });
                i = j;
                continue;
            }
        }
        if c == '"' || (c == 'b' && next == Some('"')) {
            let start_line = line;
            let start = if c == 'b' { i + 1 } else { i };
            let mut j = start + 1;
            while j < chars.len() && chars[j] != '"' {
                if chars[j] == '\\' {
                    j += 1;
                }
                if chars.get(j) == Some(&'\n') {
                    line += 1;
                }
                j += 1;
            }
            let text: String = chars[start..=j.min(chars.len() - 1)].iter().collect();
            literals.push(Literal { text, line: start_line, in_attribute: attribute.is_some() });
            i = j + 1;
            continue;
        }
        if c == '\'' {
            // A char literal ('a', '\n', '\u{1F600}'), or a lifetime ('a), which is code.
            if next == Some('\\') {
                let mut j = i + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                continue;
            }
            if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                continue;
            }
            i += 1;
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token { text: chars[start..i].iter().collect(), line });
            continue;
        }
        if c == ':' && next == Some(':') {
            tokens.push(Token { text: "::".into(), line });
            i += 2;
            continue;
        }
        match c {
            '#' if attribute.is_none()
                && (next == Some('[') || (next == Some('!') && chars.get(i + 2) == Some(&'['))) =>
            {
                attribute = Some(brackets);
            }
            '[' => brackets += 1,
            ']' => {
                brackets = brackets.saturating_sub(1);
                if attribute == Some(brackets) {
                    attribute = None;
                }
            }
            _ => {}
        }
        tokens.push(Token { text: c.to_string(), line });
        i += 1;
    }
    (tokens, literals)
}
